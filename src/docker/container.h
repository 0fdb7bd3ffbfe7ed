/* container.h - the container model moat joins events with: what Docker says of one container
 * (struct container_info), how it is copied and freed, and which of its labels the operator
 * set. Filled by docker_inspect / docker_parse_inspect (docker.h). */
#ifndef MOAT_CONTAINER_H
#define MOAT_CONTAINER_H

#include <stdint.h>
#include <json-c/json.h>

#define DOCKER_MAX_NETWORKS 8
#define DOCKER_MAX_DNS	    4

struct docker;

/* One network endpoint of a container (NetworkSettings.Networks.<name>).
 * Addresses are text as Docker gives them; "" when there is none. */
struct container_net {
	char name[64]; /* network name ("bridge", "moat-net", ...) */
	char ipv4[16]; /* IPAddress */
	char gw4[16];  /* Gateway */
	char ipv6[46]; /* GlobalIPv6Address */
	char gw6[46];  /* IPv6Gateway */
	char mac[18];  /* MacAddress ("02:42:ac:11:00:02") */
};

/* What moat knows of one container. The heap fields (labels, argv) are
 * owned by the struct: release them with container_info_clear(); copy a
 * container_info only with container_info_copy(). */
struct container_info {
	char id[65];	    /* full container id */
	char name[128];	    /* name without the leading '/' */
	char image[256];    /* image reference as given to docker run (Config.Image) */
	int pid;	    /* init process on the host, 0 when not running */
	uint64_t cgroup_id; /* cgroup v2 id (inode of its cgroup dir), 0 when unknown */
	char cgroup[256];   /* cgroup v2 path below the mount ("/docker/<id>"), "" if unknown */
	char state[16];	    /* State.Status: "created", "running", "paused", "restarting",
			       "exited", "dead"; moat adds "removed" after a destroy event */
	char health[16];    /* State.Health.Status: "" (no healthcheck), "starting",
			       "healthy", "unhealthy" */
	int exit_code;	    /* State.ExitCode (meaningful once exited) */
	int64_t started_at; /* State.StartedAt in ns since the epoch, 0 if never started */
	/* Config.Labels as a json-c object of string values; never NULL once
	 * parsed (an empty object when the container has none). Read it with
	 * container_label(). */
	json_object *labels;
	/* The labels its image sets (the image's Config.Labels; Docker merges them into
	 * Config.Labels above). An image is untrusted input: its labels must not pass for the
	 * operator's (container_label_from). NULL when unknown (the image could not be
	 * inspected): then no label counts as the operator's. Shared, immutable. */
	json_object *image_labels;
	char image_id[80]; /* the image's id ("sha256:..."), "" when unknown */
	/* Config.Entrypoint followed by Config.Cmd: the argv the container's
	 * own init runs, NULL-terminated, argc entries. Never NULL once parsed. */
	char **argv;
	int argc;
	/* Config.Healthcheck.Test as the argv Docker runs, words joined by
	 * spaces: ["CMD","wget","-q","x"] -> "wget -q x", ["CMD-SHELL","cmd"]
	 * -> "sh -c cmd"; "" when the container has none. Healthchecks are execs from outside the
	 * container, like docker exec: the daemon must not take them for an
	 * intruder's shell. */
	char health_cmd[512];
	int tty; /* Config.Tty: its log stream is raw, not multiplexed (dockerlogs.h) */
	struct container_net nets[DOCKER_MAX_NETWORKS];
	int n_nets;
	/* HostConfig.Dns: the DNS servers given to docker run --dns (addresses as text). Docker's
	 * own configuration, unlike the container's resolv.conf, which the container can write. */
	char dns[DOCKER_MAX_DNS][46];
	int n_dns;
	/* HostConfig.Memory and HostConfig.PidsLimit: the limits given to docker run --memory and
	 * --pids-limit (0: none). Docker's configuration; a host whose memory or pids controller
	 * is not on cgroup v2 does not enforce them (resource stats use them as the limit there,
	 * and say so). */
	int64_t mem_limit;
	int64_t pids_limit;
};

/* Free the heap fields of c and zero it. Safe on a zeroed struct. */
void container_info_clear(struct container_info *c);

/* Deep copy src into dst (dst is overwritten, not cleared first). Returns
 * 0 or -ENOMEM (dst is then zeroed). */
int container_info_copy(struct container_info *dst, const struct container_info *src);

/* argv as one malloc'ed block (free() it once, as container_info_clear does): n + 1
 * pointers, the last NULL, then the strings. NULL when memory is short. */
char **container_argv_dup(const char *const *src, int n);

/* The value of label key, or NULL. */
const char *container_label(const struct container_info *c, const char *key);

/* The value of label key when the operator set it (docker run/create --label), or NULL: a
 * label the container's image sets (same key and value in image_labels), or any label when
 * the image's labels are unknown, does not count unless trust_image is set. */
const char *container_label_from(const struct container_info *c, const char *key, int trust_image);

#endif /* MOAT_CONTAINER_H */
