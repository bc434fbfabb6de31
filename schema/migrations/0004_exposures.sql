CREATE TABLE `exposures` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`host_id` text NOT NULL,
	`service` text NOT NULL,
	`name` text NOT NULL,
	`hostname` text,
	`access` text NOT NULL,
	`link_salt` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `exposures_name_unique` ON `exposures` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `exposures_hostname_unique` ON `exposures` (`hostname`);--> statement-breakpoint
CREATE INDEX `exposures_tenant` ON `exposures` (`tenant_id`);--> statement-breakpoint
CREATE INDEX `exposures_host` ON `exposures` (`host_id`);