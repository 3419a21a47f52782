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
ALTER TABLE `invoices` ADD `next_payment_attempt_at` integer;--> statement-breakpoint
CREATE INDEX `invoices_payment_due_idx` ON `invoices` (`status`,`next_payment_attempt_at`);
