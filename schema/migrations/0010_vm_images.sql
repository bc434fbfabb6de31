CREATE TABLE `vm_images` (
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`sha256` text NOT NULL,
	`cmdline` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `name`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
