DROP INDEX `invoices_contract_period_uq`;--> statement-breakpoint
CREATE UNIQUE INDEX `invoices_contract_period_uq` ON `invoices` (`contract_id`,`period_start`) WHERE kind = 'period';--> statement-breakpoint
ALTER TABLE `plans` ADD `invoice_threshold` text;