package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// shardsEnv gives --shards from the environment: a Kubernetes Indexed
// Job's pods know their index but not the Job's completions, so its
// manifest sets this to the same number.
const shardsEnv = "GENLAB_SHARDS"

// shardUsage is batch's --shard.
const shardUsage = "I/N: make only every N-th image, starting at the I-th; auto: I (and N) from the job runner: " +
	"a Kubernetes Indexed Job (JOB_COMPLETION_INDEX), a Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) " +
	"or GNU parallel (PARALLEL_SEQ), named on stderr"

// shardsFlag is --shards, the number of shards, also from $GENLAB_SHARDS.
func shardsFlag(usage string) cli.Flag {
	return &cli.IntFlag{Name: "shards", Usage: usage, EnvVars: []string{shardsEnv}}
}

// runner is a job runner whose environment tells a task which it is.
type runner struct {
	name string
	// shard reads this task's 1-based index and the count (0: the runner
	// does not say) from the environment, given --shards (0: not given);
	// ok is false when the runner's variables are not set.
	shard func(getenv func(string) string, shards int) (i, n int, vars string, ok bool, err error)
}

var runners = []runner{
	{"Kubernetes Indexed Job", kubernetesShard},
	{"Slurm job array", slurmShard},
	{"GNU parallel", parallelShard},
}

// envInt reads a whole-number variable; set says whether it is there.
func envInt(getenv func(string) string, name string) (v int, set bool, err error) {
	s := strings.TrimSpace(getenv(name))
	if s == "" {
		return 0, false, nil
	}
	v, err = strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, true, fmt.Errorf("%s=%q is not a whole number", name, getenv(name))
	}
	return v, true, nil
}

// kubernetesShard: JOB_COMPLETION_INDEX counts from 0 to completions-1;
// the pods are not told completions.
func kubernetesShard(getenv func(string) string, _ int) (int, int, string, bool, error) {
	i, set, err := envInt(getenv, "JOB_COMPLETION_INDEX")
	if !set || err != nil {
		return 0, 0, "", set, err
	}
	return i + 1, 0, fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i), true, nil
}

// slurmShard: SLURM_ARRAY_TASK_ID runs from SLURM_ARRAY_TASK_MIN (0 or 1
// or any start, --array=A-B) to SLURM_ARRAY_TASK_MAX; only a range without
// gaps (no step, no list) maps onto shards 1 to SLURM_ARRAY_TASK_COUNT.
// An array of fewer tasks than --shards is a rerun of some shards
// (--array=3,6): there the task IDs are the shard numbers.
func slurmShard(getenv func(string) string, shards int) (int, int, string, bool, error) {
	id, set, err := envInt(getenv, "SLURM_ARRAY_TASK_ID")
	if !set || err != nil {
		return 0, 0, "", set, err
	}
	count, hasCount, err := envInt(getenv, "SLURM_ARRAY_TASK_COUNT")
	if err != nil {
		return 0, 0, "", true, err
	}
	if !hasCount || count < 1 {
		return 0, 0, "", true, fmt.Errorf("SLURM_ARRAY_TASK_ID=%d without SLURM_ARRAY_TASK_COUNT (Slurm sets both in a job array)", id)
	}
	lo, hasMin, err1 := envInt(getenv, "SLURM_ARRAY_TASK_MIN")
	hi, hasMax, err2 := envInt(getenv, "SLURM_ARRAY_TASK_MAX")
	step, hasStep, err3 := envInt(getenv, "SLURM_ARRAY_TASK_STEP")
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			return 0, 0, "", true, err
		}
	}
	vars := fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d, SLURM_ARRAY_TASK_COUNT=%d", id, count)
	if shards > 0 && count < shards {
		if id < 1 || id > shards {
			return 0, 0, "", true, fmt.Errorf("%s, a rerun of some of %d shards: its task IDs must be shard numbers, 1 to %d", vars, shards, shards)
		}
		return id, shards, vars + ", a rerun of some shards", true, nil
	}
	if hasMin {
		vars += fmt.Sprintf(", SLURM_ARRAY_TASK_MIN=%d", lo)
	}
	if hasMax && hi-lo+1 != count || hasStep && step > 1 {
		return 0, 0, "", true, fmt.Errorf("the array (%s, SLURM_ARRAY_TASK_MAX=%d) has gaps: submit a range like --array=0-%d", vars, hi, count-1)
	}
	if id < lo || id-lo >= count {
		return 0, 0, "", true, fmt.Errorf("%s: the task is outside the array", vars)
	}
	return id - lo + 1, count, vars, true, nil
}

// parallelShard: PARALLEL_SEQ is the job's sequence number, from 1; the
// number of jobs is not in the environment.
func parallelShard(getenv func(string) string, _ int) (int, int, string, bool, error) {
	seq, set, err := envInt(getenv, "PARALLEL_SEQ")
	if !set || err != nil {
		return 0, 0, "", set, err
	}
	if seq < 1 {
		return 0, 0, "", true, fmt.Errorf("PARALLEL_SEQ=%d: GNU parallel counts its jobs from 1", seq)
	}
	return seq, 0, fmt.Sprintf("PARALLEL_SEQ=%d", seq), true, nil
}

// autoShard finds the runner this process is a task of and its shard I/N.
// count is --shards (0: not given); note says which runner and variables
// gave the shard.
func autoShard(getenv func(string) string, count int) (i, n int, note string, err error) {
	type task struct {
		name, vars string
		i, n       int
		err        error
	}
	var found []task
	var names []string
	for _, r := range runners {
		if ri, rn, vars, ok, err := r.shard(getenv, count); ok {
			found = append(found, task{r.name, vars, ri, rn, err})
			names = append(names, r.name)
		}
	}
	switch len(found) {
	case 0:
		return 0, 0, "", userErrorf("batch: --shard auto: no job runner in the environment (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or PARALLEL_SEQ): give --shard I/N")
	case 1:
	default:
		return 0, 0, "", userErrorf("batch: --shard auto: the variables of more than one job runner are set (%s): give --shard I/N", strings.Join(names, ", "))
	}
	t := found[0]
	switch {
	case t.err != nil:
		return 0, 0, "", userErrorf("batch: --shard auto: %s: %v", t.name, t.err)
	case t.n == 0 && count == 0:
		return 0, 0, "", userErrorf("batch: --shard auto: %s (%s) does not say how many shards there are: give --shards N or set %s",
			t.name, t.vars, shardsEnv)
	case t.n != 0 && count != 0 && t.n != count:
		return 0, 0, "", userErrorf("batch: --shard auto: %s (%s) has %d tasks but --shards (or %s) says %d", t.name, t.vars, t.n, shardsEnv, count)
	case t.n == 0:
		t.n = count
	}
	if t.i > t.n {
		return 0, 0, "", userErrorf("batch: --shard auto: %s (%s) is task %d of only %d shards: run %d tasks, or give --shards %d",
			t.name, t.vars, t.i, t.n, t.n, t.i)
	}
	return t.i, t.n, fmt.Sprintf("%s (%s)", t.name, t.vars), nil
}

// batchShard is the shard this batch run makes: --shard I/N, or the job
// runner's with --shard auto, which it names on stderr.
func batchShard(c *cli.Context) (i, n int, err error) {
	spec := strings.TrimSpace(c.String("shard"))
	if spec != "auto" {
		if i, n, err = parseShard(spec); err != nil {
			return 0, 0, err
		}
		if count := c.Int("shards"); c.IsSet("shards") && count != n {
			return 0, 0, userErrorf("batch: --shard %s but --shards (or %s) says %d shards", spec, shardsEnv, count)
		}
		return i, n, nil
	}
	count := 0
	if c.IsSet("shards") {
		if count = c.Int("shards"); count < 1 {
			return 0, 0, userErrorf("batch: --shards %d: want 1 or more", count)
		}
	}
	i, n, note, err := autoShard(os.Getenv, count)
	if err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(c.App.ErrWriter, "batch: shard %d/%d from %s\n", i, n, note)
	return i, n, nil
}
