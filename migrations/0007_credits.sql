-- Credits (SPEC §15): invoices outside a contract (credit purchases), credits applied and amount due. Edited by hand:
-- drizzle-kit's copy selected the new columns from the old table; existing invoices are periods with nothing credited.
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_invoices` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`customer_id` text NOT NULL,
	`contract_id` text,
	`kind` text DEFAULT 'period' NOT NULL,
	`status` text NOT NULL,
	`currency` text NOT NULL,
	`period_start` integer NOT NULL,
	`period_end` integer NOT NULL,
	`finalize_after` integer,
	`number` integer,
	`invoice_date` integer,
	`due_date` integer,
	`line_items` text,
	`subtotal` text,
	`total` text,
	`credits_applied` text,
	`amount_due` text,
	`auto_pay` integer,
	`payment_status` text DEFAULT 'none' NOT NULL,
	`paid_at` integer,
	`voided_at` integer,
	`next_payment_attempt_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_invoices`("id", "account_id", "mode", "customer_id", "contract_id", "kind", "status", "currency", "period_start", "period_end", "finalize_after", "number", "invoice_date", "due_date", "line_items", "subtotal", "total", "credits_applied", "amount_due", "auto_pay", "payment_status", "paid_at", "voided_at", "next_payment_attempt_at", "created_at", "updated_at") SELECT "id", "account_id", "mode", "customer_id", "contract_id", 'period', "status", "currency", "period_start", "period_end", "finalize_after", "number", "invoice_date", "due_date", "line_items", "subtotal", "total", CASE WHEN "total" IS NULL THEN NULL ELSE '[]' END, "total", NULL, "payment_status", "paid_at", "voided_at", "next_payment_attempt_at", "created_at", "updated_at" FROM `invoices`;--> statement-breakpoint
DROP TABLE `invoices`;--> statement-breakpoint
ALTER TABLE `__new_invoices` RENAME TO `invoices`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `invoices_contract_period_uq` ON `invoices` (`contract_id`,`period_start`);--> statement-breakpoint
CREATE INDEX `invoices_payment_due_idx` ON `invoices` (`status`,`next_payment_attempt_at`);--> statement-breakpoint
CREATE INDEX `invoices_list_idx` ON `invoices` (`account_id`,`mode`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `invoices_customer_idx` ON `invoices` (`account_id`,`mode`,`customer_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `invoices_due_idx` ON `invoices` (`status`,`finalize_after`);--> statement-breakpoint
CREATE UNIQUE INDEX `invoices_number_uq` ON `invoices` (`account_id`,`mode`,`number`);