CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`host_id` text NOT NULL,
	`actor` text NOT NULL,
	`kind` text NOT NULL,
	`argv` text DEFAULT '[]' NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`exit_code` integer,
	`signal` text,
	`bytes_in` integer DEFAULT 0 NOT NULL,
	`bytes_out` integer DEFAULT 0 NOT NULL,
	`end_reason` text,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sessions_tenant_started` ON `sessions` (`tenant_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `sessions_host` ON `sessions` (`host_id`);