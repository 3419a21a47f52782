CREATE TABLE `accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`name` text,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`last4` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_uq` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_account_idx` ON `api_keys` (`account_id`,`mode`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `contracts` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`customer_id` text NOT NULL,
	`plan_id` text NOT NULL,
	`status` text NOT NULL,
	`start_date` integer NOT NULL,
	`end_date` integer,
	`billing_anchor` integer NOT NULL,
	`auto_pay` integer NOT NULL,
	`current_period_start` integer NOT NULL,
	`current_period_end` integer NOT NULL,
	`cancel_at` integer,
	`cancelled_at` integer,
	`coverage_end` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `contracts_customer_idx` ON `contracts` (`account_id`,`mode`,`customer_id`,`start_date`);--> statement-breakpoint
CREATE INDEX `contracts_list_idx` ON `contracts` (`account_id`,`mode`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `contracts_plan_idx` ON `contracts` (`plan_id`);--> statement-breakpoint
CREATE TABLE `customers` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`external_id` text,
	`name` text NOT NULL,
	`email` text,
	`payment_provider` text,
	`payment_provider_id` text,
	`metadata` text DEFAULT '{}' NOT NULL,
	`archived_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `customers_external_id_uq` ON `customers` (`account_id`,`mode`,`external_id`);--> statement-breakpoint
CREATE INDEX `customers_list_idx` ON `customers` (`account_id`,`mode`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`response_status` integer,
	`response_body` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `mode`, `key`)
);
--> statement-breakpoint
CREATE TABLE `meters` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`code` text NOT NULL,
	`event_name` text NOT NULL,
	`display_name` text NOT NULL,
	`aggregation` text NOT NULL,
	`aggregation_property` text,
	`filters` text DEFAULT '[]' NOT NULL,
	`group_by` text DEFAULT '[]' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `meters_code_uq` ON `meters` (`account_id`,`mode`,`code`);--> statement-breakpoint
CREATE INDEX `meters_event_name_idx` ON `meters` (`account_id`,`mode`,`event_name`);--> statement-breakpoint
CREATE INDEX `meters_list_idx` ON `meters` (`account_id`,`mode`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `plans` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`family_id` text NOT NULL,
	`version` integer NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`currency` text NOT NULL,
	`billing_interval` text NOT NULL,
	`net_terms_days` integer NOT NULL,
	`auto_pay` integer NOT NULL,
	`grace_period_hours` integer NOT NULL,
	`superseded_by` text,
	`archived_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `plans_list_idx` ON `plans` (`account_id`,`mode`,`created_at`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `plans_family_version_uq` ON `plans` (`family_id`,`version`);--> statement-breakpoint
CREATE TABLE `prices` (
	`id` text PRIMARY KEY NOT NULL,
	`plan_id` text NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`position` integer NOT NULL,
	`type` text NOT NULL,
	`meter_id` text,
	`spec` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`plan_id`) REFERENCES `plans`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `prices_plan_idx` ON `prices` (`plan_id`,`position`);--> statement-breakpoint
CREATE INDEX `prices_meter_idx` ON `prices` (`meter_id`);