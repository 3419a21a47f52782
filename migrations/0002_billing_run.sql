CREATE TABLE `invoice_sequences` (
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`last_number` integer NOT NULL,
	PRIMARY KEY(`account_id`, `mode`)
);
--> statement-breakpoint
ALTER TABLE `invoices` ADD `finalize_after` integer;--> statement-breakpoint
ALTER TABLE `invoices` ADD `number` integer;--> statement-breakpoint
ALTER TABLE `invoices` ADD `invoice_date` integer;--> statement-breakpoint
ALTER TABLE `invoices` ADD `due_date` integer;--> statement-breakpoint
ALTER TABLE `invoices` ADD `line_items` text;--> statement-breakpoint
ALTER TABLE `invoices` ADD `subtotal` text;--> statement-breakpoint
ALTER TABLE `invoices` ADD `total` text;--> statement-breakpoint
ALTER TABLE `invoices` ADD `payment_status` text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE `invoices` ADD `paid_at` integer;--> statement-breakpoint
ALTER TABLE `invoices` ADD `voided_at` integer;--> statement-breakpoint
CREATE INDEX `invoices_due_idx` ON `invoices` (`status`,`finalize_after`);--> statement-breakpoint
CREATE UNIQUE INDEX `invoices_number_uq` ON `invoices` (`account_id`,`mode`,`number`);--> statement-breakpoint
CREATE INDEX `contracts_period_end_idx` ON `contracts` (`current_period_end`);