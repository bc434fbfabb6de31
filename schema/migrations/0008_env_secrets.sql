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