package app

import "github.com/vigil-sec/vigil/internal/bus"

// JobsQueueConfig is the configuration of the jobs queue the scheduler
// fills and the workers consume, for processes (and tests) that consume
// it outside this package.
func JobsQueueConfig() bus.QueueConfig { return jobsQueueConfig() }

// HousekeepingJobs lists the jobs the scheduler queues once per slot.
func HousekeepingJobs() []string { return append([]string(nil), housekeepingJobs...) }
