CREATE TABLE `credit_notes` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`customer_id` text NOT NULL,
	`invoice_id` text NOT NULL,
	`number` text NOT NULL,
	`currency` text NOT NULL,
	`amount` text NOT NULL,
	`lines` text NOT NULL,
	`reason` text NOT NULL,
	`refund_to` text NOT NULL,
	`status` text NOT NULL,
	`refund_id` text,
	`grant_id` text,
	`memo` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `credit_notes_list_idx` ON `credit_notes` (`account_id`,`mode`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `credit_notes_invoice_idx` ON `credit_notes` (`invoice_id`,`created_at`);--> statement-breakpoint
DROP INDEX `invoices_contract_period_uq`;--> statement-breakpoint
ALTER TABLE `invoices` ADD `amount_credited` text DEFAULT '0' NOT NULL;--> statement-breakpoint
ALTER TABLE `invoices` ADD `regenerated_from` text;--> statement-breakpoint
CREATE UNIQUE INDEX `invoices_contract_period_uq` ON `invoices` (`contract_id`,`period_start`) WHERE kind = 'period' AND status != 'void';