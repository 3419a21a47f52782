ALTER TABLE `contracts` ADD `overrides` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `contracts` ADD `pauses` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `contracts` ADD `previous_contract_id` text;--> statement-breakpoint
ALTER TABLE `contracts` ADD `started_by_change` text;--> statement-breakpoint
ALTER TABLE `contracts` ADD `next_contract_id` text;--> statement-breakpoint
ALTER TABLE `contracts` ADD `ended_by_change` text;