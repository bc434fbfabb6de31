CREATE TABLE `app_env` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` text NOT NULL,
	`app` text NOT NULL,
	`name` text NOT NULL,
	`version` integer NOT NULL,
	`ciphertext` text NOT NULL,
	`nonce` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `app_env_tenant_app_name` ON `app_env` (`tenant_id`,`app`,`name`);--> statement-breakpoint
CREATE TABLE `apps` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `apps_tenant_name` ON `apps` (`tenant_id`,`name`);--> statement-breakpoint
CREATE TABLE `artifact_grants` (
	`tenant_id` text NOT NULL,
	`host_id` text NOT NULL,
	`sha256` text NOT NULL,
	`last_fetch_at` integer DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`host_id`, `sha256`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`host_id`) REFERENCES `hosts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `artifact_grants_tenant_sha` ON `artifact_grants` (`tenant_id`,`sha256`);--> statement-breakpoint
CREATE TABLE `artifact_upload_parts` (
	`upload_id` text NOT NULL,
	`part` integer NOT NULL,
	`etag` text NOT NULL,
	`size` integer NOT NULL,
	PRIMARY KEY(`upload_id`, `part`),
	FOREIGN KEY (`upload_id`) REFERENCES `artifact_uploads`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `artifact_uploads` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`part_size` integer NOT NULL,
	`r2_upload_id` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `artifact_uploads_tenant_sha` ON `artifact_uploads` (`tenant_id`,`sha256`);--> statement-breakpoint
CREATE TABLE `artifacts` (
	`tenant_id` text NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `sha256`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
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
CREATE TABLE `env_seals` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` text NOT NULL,
	`entry_id` integer NOT NULL,
	`recipient` text NOT NULL,
	`sealed_key` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`entry_id`) REFERENCES `app_env`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `env_seals_entry_recipient` ON `env_seals` (`entry_id`,`recipient`);--> statement-breakpoint
CREATE INDEX `env_seals_tenant_recipient` ON `env_seals` (`tenant_id`,`recipient`);--> statement-breakpoint
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
--> statement-breakpoint
CREATE TABLE `secret_keepers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`public_key` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `secret_keepers_tenant_name` ON `secret_keepers` (`tenant_id`,`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `secret_keepers_tenant_key` ON `secret_keepers` (`tenant_id`,`public_key`);