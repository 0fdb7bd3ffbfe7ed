/* export_schema.c - the CREATE TABLE statements of the exporter's tables (moat export schema,
 * docs/fleet.md). They keep to what ClickHouse 18.16 (Debian's) has: DateTime, String,
 * Array, ReplacingMergeTree; a newer server runs them as they are. */
#include <stdio.h>
#include <string.h>

#include "export_int.h"

/* The columns, in the rows' own names (export.c makes the rows). */
static const char events_cols[] = "    host String,\n"
				  "    boot_id String,\n"
				  "    seq UInt64,\n"
				  "    time DateTime,\n"
				  "    time_ns UInt64,\n"
				  "    type String,\n"
				  "    container_id String,\n"
				  "    container_name String,\n"
				  "    image String,\n"
				  "    cgroup_id UInt64,\n"
				  "    pid UInt32,\n"
				  "    ppid UInt32,\n"
				  "    uid UInt32,\n"
				  "    comm String,\n"
				  "    filename String,\n"
				  "    argv Array(String),\n"
				  "    daddr String,\n"
				  "    dport UInt16,\n"
				  "    protocol String,\n"
				  "    verdict String,\n"
				  "    rule_id UInt32,\n"
				  "    domain String,\n"
				  "    qtype String,\n"
				  "    rcode String,\n"
				  "    answers Array(String),\n"
				  "    exit_code Int32,\n"
				  "    event String\n";

static const char alerts_cols[] = "    host String,\n"
				  "    boot_id String,\n"
				  "    seq UInt64,\n"
				  "    time DateTime,\n"
				  "    time_ns UInt64,\n"
				  "    severity String,\n"
				  "    rule String,\n"
				  "    source String,\n"
				  "    message String,\n"
				  "    trace_id String,\n"
				  "    container_id String,\n"
				  "    container_name String,\n"
				  "    image String,\n"
				  "    domain String,\n"
				  "    daddr String,\n"
				  "    alert String\n";

/* One table: local (MergeTree family) or, with a cluster, local ON CLUSTER + Distributed. */
static void table(FILE *out, const char *db, const char *name, const char *cols,
		  const char *cluster)
{
	const char *suffix = cluster ? "_local" : "";

	fprintf(out, "CREATE TABLE IF NOT EXISTS %s.%s%s", db, name, suffix);
	if (cluster)
		fprintf(out, " ON CLUSTER %s", cluster);
	if (cluster)
		fprintf(out,
			"\n(\n%s)\nENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/"
			"{shard}/%s.%s_local', '{replica}')",
			cols, db, name);
	else
		fprintf(out, "\n(\n%s)\nENGINE = ReplacingMergeTree", cols);
	fprintf(out, "\nPARTITION BY toYYYYMM(time)\n"
		     "ORDER BY (host, boot_id, seq);\n\n");
	if (cluster)
		fprintf(out,
			"CREATE TABLE IF NOT EXISTS %s.%s ON CLUSTER %s AS %s.%s_local\n"
			"ENGINE = Distributed(%s, %s, %s_local, cityHash64(host));\n\n",
			db, name, cluster, db, name, cluster, db, name);
}

void export_schema_print(FILE *out, const struct export_config *conf, const char *cluster)
{
	fprintf(out, "-- moat's export tables (docs/fleet.md): ClickHouse 18.16 and later.\n"
		     "-- A row's key is (host, boot_id, seq): a batch sent twice collapses to one "
		     "row per key\n-- when parts merge; query with FINAL (or OPTIMIZE ... FINAL) "
		     "for exact counts before that.\n");
	if (cluster && strlen(cluster))
		fprintf(out,
			"-- Sharded by host over cluster %s (remote_servers in the server "
			"configuration, macros {shard} and {replica}).\n",
			cluster);
	fprintf(out, "\n");
	table(out, conf->database, conf->events_table, events_cols, cluster);
	table(out, conf->database, conf->alerts_table, alerts_cols, cluster);
}
