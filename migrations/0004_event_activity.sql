CREATE TABLE `event_activity` (
	`account_id` text NOT NULL,
	`mode` text NOT NULL,
	`minute` integer NOT NULL,
	`customer_id` text NOT NULL,
	`event_name` text NOT NULL,
	PRIMARY KEY(`account_id`, `mode`, `minute`, `customer_id`, `event_name`)
);
--> statement-breakpoint
-- Events indexed before event_activity existed: their minutes, from the legacy per-event index.
INSERT OR IGNORE INTO `event_activity` (`account_id`, `mode`, `minute`, `customer_id`, `event_name`)
SELECT DISTINCT `account_id`, `mode`, `timestamp` / 60000, `customer_id`, `event_name` FROM `event_index`;
