CREATE TABLE `job_hosts` (
	`job_id` text NOT NULL,
	`host_id` text NOT NULL,
	`state` text DEFAULT 'queued' NOT NULL,
	`step` integer,
	`exit_code` integer,
	`signal` text,
	`message` text,
	`duration_ms` integer,
	`stdout_tail` text,
	`stderr_tail` text,
	`started_at` integer,
	`finished_at` integer,
	PRIMARY KEY(`job_id`, `host_id`),
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `job_hosts_host_state` ON `job_hosts` (`host_id`,`state`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`cluster_id` text NOT NULL,
	`selector` text NOT NULL,
	`site` text,
	`steps` text NOT NULL,
	`timeout_ms` integer,
	`include_new` integer DEFAULT false NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`expires_at` integer NOT NULL,
	`cancelled_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `jobs_tenant_created` ON `jobs` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `jobs_cluster` ON `jobs` (`cluster_id`);