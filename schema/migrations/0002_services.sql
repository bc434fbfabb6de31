CREATE TABLE `services` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`host_id` text NOT NULL,
	`name` text NOT NULL,
	`target` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `services_host_name` ON `services` (`host_id`,`name`);--> statement-breakpoint
CREATE INDEX `services_tenant` ON `services` (`tenant_id`);