CREATE TABLE `payment_attempts` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`invoice_id` text NOT NULL,
	`customer_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`trigger` text NOT NULL,
	`idempotency_key` text NOT NULL,
	`status` text NOT NULL,
	`amount` text NOT NULL,
	`currency` text NOT NULL,
	`request` text,
	`stripe_payment_intent_id` text,
	`failure_code` text,
	`decline_code` text,
	`failure_message` text,
	`lease_until` integer NOT NULL,
	`attempted_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `payment_attempts_invoice_attempt_uq` ON `payment_attempts` (`invoice_id`,`attempt`);--> statement-breakpoint
CREATE UNIQUE INDEX `payment_attempts_key_uq` ON `payment_attempts` (`account_id`,`mode`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `payment_attempts_intent_idx` ON `payment_attempts` (`stripe_payment_intent_id`);--> statement-breakpoint
CREATE INDEX `payment_attempts_pending_idx` ON `payment_attempts` (`status`,`lease_until`);--> statement-breakpoint
CREATE TABLE `stripe_events` (
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`event_id` text NOT NULL,
	`type` text NOT NULL,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `mode`, `event_id`)
);
--> statement-breakpoint
CREATE TABLE `stripe_settings` (
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`secret_key_ciphertext` text NOT NULL,
	`secret_key_last4` text NOT NULL,
	`webhook_secret_ciphertext` text,
	`webhook_secret_last4` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `mode`)
);
--> statement-breakpoint
CREATE TABLE `webhook_attempts` (
	`id` text PRIMARY KEY NOT NULL,
	`delivery_id` text NOT NULL,
	`attempted_at` integer NOT NULL,
	`response_status` integer,
	`response_body` text,
	`error` text,
	`duration_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_attempts_delivery_idx` ON `webhook_attempts` (`delivery_id`,`attempted_at`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`status` text NOT NULL,
	`attempt_count` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`give_up_at` integer NOT NULL,
	`last_attempt_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_endpoint_event_uq` ON `webhook_deliveries` (`endpoint_id`,`event_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due_idx` ON `webhook_deliveries` (`account_id`,`mode`,`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_list_idx` ON `webhook_deliveries` (`endpoint_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_event_idx` ON `webhook_deliveries` (`event_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_pending_idx` ON `webhook_deliveries` (`next_attempt_at`) WHERE "webhook_deliveries"."status" = 'pending';--> statement-breakpoint
CREATE TABLE `webhook_endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`url` text NOT NULL,
	`description` text,
	`events` text NOT NULL,
	`enabled` integer NOT NULL,
	`disabled_reason` text,
	`disabled_at` integer,
	`failing_since` integer,
	`secret_ciphertext` text NOT NULL,
	`previous_secret_ciphertext` text,
	`previous_secret_expires_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_endpoints_list_idx` ON `webhook_endpoints` (`account_id`,`mode`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `webhook_events` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`type` text NOT NULL,
	`payload` text NOT NULL,
	`fanned_out` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_events_fanout_idx` ON `webhook_events` (`account_id`,`mode`,`fanned_out`,`created_at`);--> statement-breakpoint
CREATE INDEX `webhook_events_list_idx` ON `webhook_events` (`account_id`,`mode`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `webhook_events_created_idx` ON `webhook_events` (`created_at`);--> statement-breakpoint
CREATE INDEX `webhook_events_unfanned_idx` ON `webhook_events` (`created_at`) WHERE "webhook_events"."fanned_out" = 0;--> statement-breakpoint
ALTER TABLE `invoices` ADD `next_payment_attempt_at` integer;--> statement-breakpoint
CREATE INDEX `invoices_payment_due_idx` ON `invoices` (`status`,`next_payment_attempt_at`);