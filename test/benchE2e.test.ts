/** tools/benchE2e.ts: what it reads of the language host (issue 17). */
import * as assert from "assert";
import { cpuSeconds } from "../tools/benchE2e";

describe("bench:e2e reads the language host's CPU time from /proc/<pid>/stat", () => {
  it("adds user and system time (fields 14 and 15), after a command name with spaces and parentheses", () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime ...
    const stat = "4242 (node (run) x) S 1 2 3 0 -1 4194560 100 0 0 0 1234 56 7 8 20 0 11 0";
    assert.strictEqual(cpuSeconds(stat), 12.9);
    assert.strictEqual(cpuSeconds(stat, 1000), 1.29);
  });
});
