CREATE TABLE `event_index` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`customer_id` text NOT NULL,
	`event_name` text NOT NULL,
	`timestamp` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `event_index_list_idx` ON `event_index` (`account_id`,`mode`,`timestamp`,`id`);--> statement-breakpoint
CREATE INDEX `event_index_customer_idx` ON `event_index` (`account_id`,`mode`,`customer_id`,`timestamp`);--> statement-breakpoint
CREATE TABLE `invoices` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`customer_id` text NOT NULL,
	`contract_id` text NOT NULL,
	`status` text NOT NULL,
	`currency` text NOT NULL,
	`period_start` integer NOT NULL,
	`period_end` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `invoices_contract_period_uq` ON `invoices` (`contract_id`,`period_start`);--> statement-breakpoint
CREATE INDEX `invoices_list_idx` ON `invoices` (`account_id`,`mode`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `invoices_customer_idx` ON `invoices` (`account_id`,`mode`,`customer_id`,`created_at`);--> statement-breakpoint
ALTER TABLE `customers` ADD `ledger_version` integer DEFAULT 0 NOT NULL;