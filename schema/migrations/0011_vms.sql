CREATE TABLE `vms` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`cluster_id` text NOT NULL,
	`host_id` text NOT NULL,
	`name` text NOT NULL,
	`image` text NOT NULL,
	`image_sha256` text NOT NULL,
	`image_size` integer NOT NULL,
	`cmdline` text NOT NULL,
	`cpus` integer NOT NULL,
	`memory_mib` integer NOT NULL,
	`disk_mib` integer NOT NULL,
	`ports` text DEFAULT '[]' NOT NULL,
	`user_data` text,
	`driver` text,
	`desired` text DEFAULT 'running' NOT NULL,
	`stop_timeout_ms` integer DEFAULT 30000 NOT NULL,
	`generation` integer DEFAULT 1 NOT NULL,
	`actions` text DEFAULT '[]' NOT NULL,
	`observed_generation` integer DEFAULT 0 NOT NULL,
	`state` text,
	`observed` text DEFAULT '{}' NOT NULL,
	`message` text,
	`observed_at` integer,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`cluster_id`) REFERENCES `clusters`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`host_id`) REFERENCES `hosts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `vms_cluster_name` ON `vms` (`cluster_id`,`name`);--> statement-breakpoint
CREATE INDEX `vms_tenant` ON `vms` (`tenant_id`);--> statement-breakpoint
CREATE INDEX `vms_host` ON `vms` (`host_id`);