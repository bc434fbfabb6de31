CREATE TABLE `mesh_routes` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`cluster_id` text NOT NULL,
	`from_host_id` text NOT NULL,
	`listen` text NOT NULL,
	`to_host_id` text NOT NULL,
	`to_service` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `mesh_routes_from_listen` ON `mesh_routes` (`from_host_id`,`listen`);--> statement-breakpoint
CREATE INDEX `mesh_routes_cluster` ON `mesh_routes` (`cluster_id`);