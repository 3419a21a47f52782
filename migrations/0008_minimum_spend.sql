-- Minimum commitment (SPEC §15): minimum_spend per period on plans, and a contract's override of it. Both nullable.
ALTER TABLE `contracts` ADD `minimum_spend` text;--> statement-breakpoint
ALTER TABLE `plans` ADD `minimum_spend` text;