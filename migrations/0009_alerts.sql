CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`threshold` text NOT NULL,
	`customer_id` text,
	`meter_code` text,
	`enforce` integer NOT NULL,
	`archived_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `alerts_list_idx` ON `alerts` (`account_id`,`mode`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `alerts_customer_idx` ON `alerts` (`account_id`,`mode`,`customer_id`);