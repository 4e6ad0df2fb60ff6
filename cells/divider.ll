; divider: a demo task that divides by zero with the CPU's own div (#DE).
;
; Written in LLVM IR because the cell language checks every division and
; panics first; here the CPU raises the exception and the nano_core's
; handler ends the task.  `spawn divider::run N` computes N // 0 in a task;
; the command `divider` (main) spawns that task and prints its id (only
; when the shell runs it: a task must not write into the host's replies),
; so typing it never faults the shell itself.
@"divider::zero" = global i64 0
@"divider::.run_name" = constant [12 x i8] c"divider::run"

declare i64 @"task::spawn"({ptr, i64}, i64)
declare void @"serial::write_u64"(i64)
declare void @"serial::newline"()
declare i64 @"task_table::current"()

define i64 @"divider::run"(i64 %n) nounwind noredzone {
entry:
  %z = load volatile i64, ptr @"divider::zero"
  %q = udiv i64 %n, %z
  ret i64 %q
}

define i64 @"divider::main"(i64 %arg) nounwind noredzone {
entry:
  %id = call i64 @"task::spawn"({ptr, i64} {ptr @"divider::.run_name", i64 12}, i64 7)
  %slot = call i64 @"task_table::current"()
  %in_shell = icmp eq i64 %slot, 0
  br i1 %in_shell, label %print, label %done
print:
  call void @"serial::write_u64"(i64 %id)
  call void @"serial::newline"()
  br label %done
done:
  %failed = icmp eq i64 %id, 0
  %status = zext i1 %failed to i64
  ret i64 %status
}
