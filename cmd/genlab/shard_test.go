package main

import (
	"strings"
	"testing"
)

// --shard auto maps each job runner's variables onto a shard I/N, and
// refuses with one line what does not name exactly one shard.
func TestShardAutoReadsTheRunnersVariables(t *testing.T) {
	for _, c := range []struct {
		name   string
		env    map[string]string
		shards int // --shards, 0: not given
		i, n   int
		runner string // in the note, or in the error when i is 0
	}{
		// Kubernetes Indexed Job: the index from 0, the count given.
		{"k8s first", map[string]string{"JOB_COMPLETION_INDEX": "0"}, 4, 1, 4, "Kubernetes"},
		{"k8s last", map[string]string{"JOB_COMPLETION_INDEX": "3"}, 4, 4, 4, "JOB_COMPLETION_INDEX=3"},
		{"k8s no count", map[string]string{"JOB_COMPLETION_INDEX": "3"}, 0, 0, 0, "give --shards N or set GENLAB_SHARDS"},
		{"k8s index past count", map[string]string{"JOB_COMPLETION_INDEX": "4"}, 4, 0, 0, "task 5 of only 4 shards"},
		{"k8s not a number", map[string]string{"JOB_COMPLETION_INDEX": "x"}, 4, 0, 0, `JOB_COMPLETION_INDEX="x"`},
		// Slurm: --array=0-3, 1-4 and 10-13 are the same four shards.
		{"slurm from 0", map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "4",
			"SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3"}, 0, 1, 4, "Slurm"},
		{"slurm from 1", map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4",
			"SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "4"}, 0, 4, 4, "SLURM_ARRAY_TASK_MIN=1"},
		{"slurm from 10", map[string]string{"SLURM_ARRAY_TASK_ID": "11", "SLURM_ARRAY_TASK_COUNT": "4",
			"SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_MAX": "13"}, 0, 2, 4, "SLURM_ARRAY_TASK_ID=11"},
		{"slurm with the same --shards", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3",
			"SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2"}, 3, 3, 3, "Slurm"},
		{"slurm with fewer --shards", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "5",
			"SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "4"}, 4, 0, 0, "has 5 tasks but --shards"},
		{"slurm with a step", map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4",
			"SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "12", "SLURM_ARRAY_TASK_STEP": "4"}, 0, 0, 0, "has gaps"},
		{"slurm a list", map[string]string{"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "3",
			"SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "7"}, 0, 0, 0, "--array=0-2"},
		// A rerun of shards 3/8 and 6/8: --array=3,6 with --shards 8.
		{"slurm rerun", map[string]string{"SLURM_ARRAY_TASK_ID": "6", "SLURM_ARRAY_TASK_COUNT": "2",
			"SLURM_ARRAY_TASK_MIN": "3", "SLURM_ARRAY_TASK_MAX": "6"}, 8, 6, 8, "a rerun of some shards"},
		{"slurm rerun past the shards", map[string]string{"SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "2",
			"SLURM_ARRAY_TASK_MIN": "3", "SLURM_ARRAY_TASK_MAX": "9"}, 8, 0, 0, "shard numbers, 1 to 8"},
		{"slurm without the count", map[string]string{"SLURM_ARRAY_TASK_ID": "1"}, 0, 0, 0, "without SLURM_ARRAY_TASK_COUNT"},
		// Slurm sets SLURM_JOB_ID in every job; only an array names a shard.
		{"slurm not an array", map[string]string{"SLURM_JOB_ID": "77"}, 0, 0, 0, "no job runner"},
		// GNU parallel: PARALLEL_SEQ from 1, the count given.
		{"parallel first", map[string]string{"PARALLEL_SEQ": "1"}, 4, 1, 4, "GNU parallel (PARALLEL_SEQ=1)"},
		{"parallel count from env", map[string]string{"PARALLEL_SEQ": "3", "PARALLEL_PID": "99"}, 3, 3, 3, "GNU parallel"},
		{"parallel more jobs than shards", map[string]string{"PARALLEL_SEQ": "5"}, 4, 0, 0, "run 4 tasks"},
		{"parallel zero", map[string]string{"PARALLEL_SEQ": "0"}, 4, 0, 0, "from 1"},
		{"parallel no count", map[string]string{"PARALLEL_SEQ": "2"}, 0, 0, 0, "does not say how many"},
		// None, or two at once (GNU parallel inside a Slurm array task).
		{"none", map[string]string{}, 4, 0, 0, "no job runner"},
		{"slurm and parallel", map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2",
			"SLURM_ARRAY_TASK_MIN": "0", "PARALLEL_SEQ": "1"}, 2, 0, 0, "Slurm job array, GNU parallel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			i, n, note, err := autoShard(func(k string) string { return c.env[k] }, c.shards)
			if c.i == 0 {
				if err == nil || !strings.Contains(err.Error(), c.runner) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("got shard %d/%d (%s), error %v; want an error line mentioning %q", i, n, note, err, c.runner)
				}
				if _, ok := err.(userError); !ok {
					t.Errorf("%T is not a user error", err)
				}
				return
			}
			if err != nil || i != c.i || n != c.n || !strings.Contains(note, c.runner) {
				t.Fatalf("got shard %d/%d from %q (%v), want %d/%d from %s", i, n, note, err, c.i, c.n, c.runner)
			}
		})
	}
}

// Through the CLI: --shard auto says on stderr which runner it used, and
// --shards (or GENLAB_SHARDS) must agree with an explicit --shard I/N.
func TestShardAutoOnTheCommandLine(t *testing.T) {
	for _, v := range []string{"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "PARALLEL_SEQ", shardsEnv} {
		t.Setenv(v, "")
	}
	ckpt := writeForeignSafetensors(t, t.TempDir()) // never opened: the shard is refused first
	manifest := t.TempDir() + "/m.csv"
	wantUserError(t, "no job runner", "batch", "--ckpt", ckpt, "--manifest", manifest, "--shard", "auto")
	wantUserError(t, "--shards (or GENLAB_SHARDS) says 3", "batch", "--ckpt", ckpt, "--manifest", manifest, "--shard", "1/2", "--shards", "3")
	t.Setenv("PARALLEL_SEQ", "2")
	wantUserError(t, "give --shards N", "batch", "--ckpt", ckpt, "--manifest", manifest, "--shard", "auto")
	t.Setenv(shardsEnv, "2")
	// The shard is found, then the manifest (not there) is refused.
	status, _, stderr := genlab(t, "batch", "--ckpt", ckpt, "--manifest", manifest, "--shard", "auto")
	if status != 1 || !strings.Contains(stderr, "batch: shard 2/2 from GNU parallel (PARALLEL_SEQ=2)\n") || !strings.Contains(stderr, "m.csv") {
		t.Errorf("exit %d, stderr:\n%s", status, stderr)
	}
}
