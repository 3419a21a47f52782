CREATE TABLE `billing_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`status` text NOT NULL,
	`phase` text,
	`as_of` integer NOT NULL,
	`customers` integer DEFAULT 0 NOT NULL,
	`invoices_finalized` integer DEFAULT 0 NOT NULL,
	`drafts_opened` integer DEFAULT 0 NOT NULL,
	`contracts_updated` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`payments_attempted` integer DEFAULT 0 NOT NULL,
	`payments_succeeded` integer DEFAULT 0 NOT NULL,
	`payments_failed` integer DEFAULT 0 NOT NULL,
	`failure_reason` text,
	`created_at` integer NOT NULL,
	`completed_at` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `billing_runs_list_idx` ON `billing_runs` (`account_id`,`mode`,`created_at`,`id`);