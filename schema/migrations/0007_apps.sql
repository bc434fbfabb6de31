CREATE TABLE `apps` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `apps_tenant_name` ON `apps` (`tenant_id`,`name`);--> statement-breakpoint
CREATE TABLE `deployment_hosts` (
	`deployment_id` text NOT NULL,
	`host_id` text NOT NULL,
	`generation` integer NOT NULL,
	`action_id` text,
	`status` text DEFAULT 'pending' NOT NULL,
	`message` text,
	`updated_at` integer,
	PRIMARY KEY(`deployment_id`, `host_id`),
	FOREIGN KEY (`deployment_id`) REFERENCES `deployments`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`host_id`) REFERENCES `hosts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `deployments` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`kind` text NOT NULL,
	`release` integer,
	`status` text DEFAULT 'running' NOT NULL,
	`message` text,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`app_id`) REFERENCES `apps`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `deployments_app` ON `deployments` (`app_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `instances` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`host_id` text NOT NULL,
	`generation` integer NOT NULL,
	`desired` text NOT NULL,
	`release` integer NOT NULL,
	`actions` text DEFAULT '[]' NOT NULL,
	`observed_generation` integer DEFAULT 0 NOT NULL,
	`live_release` integer,
	`observed` text DEFAULT '[]' NOT NULL,
	`message` text,
	`observed_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`app_id`) REFERENCES `apps`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`host_id`) REFERENCES `hosts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `instances_app_host` ON `instances` (`app_id`,`host_id`);--> statement-breakpoint
CREATE INDEX `instances_host` ON `instances` (`host_id`);--> statement-breakpoint
CREATE TABLE `releases` (
	`app_id` text NOT NULL,
	`n` integer NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`spec` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`healthy_at` integer,
	PRIMARY KEY(`app_id`, `n`),
	FOREIGN KEY (`app_id`) REFERENCES `apps`(`id`) ON UPDATE no action ON DELETE cascade
);
