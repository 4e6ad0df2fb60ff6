; nano_core.ll: the walking skeleton's nano_core, in LLVM IR.
;
; It brings up COM1, calibrates the TSC against the PIT, and runs a line
; shell: help, echo, uptime, halt.  The cell-language nano_core replaces it;
; the boot path (boot.s -> nano_core::main) stays.

@banner = private constant [28 x i8] c"theseus-nb nano_core ready\0D\0A"
@prompt = private constant [9 x i8] c"theseus> "
@crlf = private constant [2 x i8] c"\0D\0A"
@help_text = private constant [122 x i8] c"commands:\0D\0A  help         this list\0D\0A  echo TEXT    print TEXT\0D\0A  uptime       time since boot\0D\0A  halt [N]     power off\0D\0A"
@unknown = private constant [17 x i8] c"unknown command: "
@try_help = private constant [13 x i8] c" (try help)\0D\0A"
@up = private constant [3 x i8] c"up "
@ms = private constant [5 x i8] c" ms\0D\0A"
@w_help = private constant [4 x i8] c"help"
@w_echo = private constant [4 x i8] c"echo"
@w_uptime = private constant [6 x i8] c"uptime"
@w_halt = private constant [4 x i8] c"halt"
@line = internal global [256 x i8] zeroinitializer
@boot_tsc = internal global i64 0
@tsc_per_10ms = internal global i64 1

define internal void @outb(i16 %port, i8 %v) {
  call void asm sideeffect "outb %al, %dx", "{al},{dx}"(i8 %v, i16 %port)
  ret void
}

define internal i8 @inb(i16 %port) {
  %r = call i8 asm sideeffect "inb %dx, %al", "={al},{dx}"(i16 %port)
  ret i8 %r
}

define internal i64 @rdtsc() {
  %r = call { i32, i32 } asm sideeffect "rdtsc", "={eax},={edx}"()
  %lo = extractvalue { i32, i32 } %r, 0
  %hi = extractvalue { i32, i32 } %r, 1
  %lo64 = zext i32 %lo to i64
  %hi64 = zext i32 %hi to i64
  %hs = shl i64 %hi64, 32
  %t = or i64 %hs, %lo64
  ret i64 %t
}

define internal void @serial_init() {
  call void @outb(i16 1017, i8 0)     ; 0x3F9: interrupts off
  call void @outb(i16 1019, i8 128)   ; 0x3FB: DLAB on
  call void @outb(i16 1016, i8 1)     ; divisor 1: 115200 baud
  call void @outb(i16 1017, i8 0)
  call void @outb(i16 1019, i8 3)     ; 8N1
  call void @outb(i16 1018, i8 199)   ; FIFO on, cleared
  call void @outb(i16 1020, i8 11)    ; DTR, RTS, OUT2
  ret void
}

define internal void @putc(i8 %c) {
entry:
  br label %wait
wait:
  %lsr = call i8 @inb(i16 1021)
  %empty = and i8 %lsr, 32
  %ready = icmp ne i8 %empty, 0
  br i1 %ready, label %send, label %wait
send:
  call void @outb(i16 1016, i8 %c)
  ret void
}

define internal i8 @getc() {
entry:
  br label %wait
wait:
  %lsr = call i8 @inb(i16 1021)
  %dr = and i8 %lsr, 1
  %ready = icmp ne i8 %dr, 0
  br i1 %ready, label %read, label %wait
read:
  %c = call i8 @inb(i16 1016)
  ret i8 %c
}

define internal void @write(ptr %s, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %body ]
  %done = icmp uge i64 %i, %n
  br i1 %done, label %exit, label %body
body:
  %p = getelementptr i8, ptr %s, i64 %i
  %c = load i8, ptr %p
  call void @putc(i8 %c)
  %next = add i64 %i, 1
  br label %loop
exit:
  ret void
}

define internal void @write_u64(i64 %v) {
entry:
  %buf = alloca [20 x i8]
  br label %loop
loop:
  %x = phi i64 [ %v, %entry ], [ %q, %loop ]
  %n = phi i64 [ 0, %entry ], [ %n1, %loop ]
  %q = udiv i64 %x, 10
  %r = urem i64 %x, 10
  %r8 = trunc i64 %r to i8
  %d = add i8 %r8, 48
  %slot = sub i64 19, %n
  %p = getelementptr [20 x i8], ptr %buf, i64 0, i64 %slot
  store i8 %d, ptr %p
  %n1 = add i64 %n, 1
  %more = icmp ne i64 %q, 0
  br i1 %more, label %loop, label %out
out:
  %start = sub i64 20, %n1
  %s = getelementptr [20 x i8], ptr %buf, i64 0, i64 %start
  call void @write(ptr %s, i64 %n1)
  ret void
}

; Read one line into @line with echo and backspace; returns its length.
define internal i64 @read_line() {
entry:
  br label %loop
loop:
  %n = phi i64 [ 0, %entry ], [ %n, %ignore ], [ %n_inc, %store ], [ %n_dec, %erase ]
  %c = call i8 @getc()
  %is_cr = icmp eq i8 %c, 13
  %is_lf = icmp eq i8 %c, 10
  %is_end = or i1 %is_cr, %is_lf
  br i1 %is_end, label %done, label %not_end
not_end:
  %is_bs = icmp eq i8 %c, 8
  %is_del = icmp eq i8 %c, 127
  %is_erase = or i1 %is_bs, %is_del
  br i1 %is_erase, label %try_erase, label %try_store
try_erase:
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %ignore, label %erase
erase:
  %n_dec = sub i64 %n, 1
  call void @putc(i8 8)
  call void @putc(i8 32)
  call void @putc(i8 8)
  br label %loop
try_store:
  %full = icmp uge i64 %n, 255
  %ctl = icmp ult i8 %c, 32
  %skip = or i1 %full, %ctl
  br i1 %skip, label %ignore, label %store
store:
  %p = getelementptr [256 x i8], ptr @line, i64 0, i64 %n
  store i8 %c, ptr %p
  call void @putc(i8 %c)
  %n_inc = add i64 %n, 1
  br label %loop
ignore:
  br label %loop
done:
  call void @write(ptr @crlf, i64 2)
  ret i64 %n
}

; Does @line[0..len) start with the word w[0..wn) followed by end or space?
define internal i1 @is_word(i64 %len, ptr %w, i64 %wn) {
entry:
  %short = icmp ult i64 %len, %wn
  br i1 %short, label %no, label %cmp
cmp:
  %c = call i32 @memcmp(ptr @line, ptr %w, i64 %wn)
  %same = icmp eq i32 %c, 0
  br i1 %same, label %boundary, label %no
boundary:
  %exact = icmp eq i64 %len, %wn
  br i1 %exact, label %yes, label %space
space:
  %p = getelementptr [256 x i8], ptr @line, i64 0, i64 %wn
  %ch = load i8, ptr %p
  %sp = icmp eq i8 %ch, 32
  ret i1 %sp
yes:
  ret i1 true
no:
  ret i1 false
}

declare i32 @memcmp(ptr, ptr, i64)

define internal void @calibrate_tsc() {
entry:
  %g = call i8 @inb(i16 97)
  %g1 = and i8 %g, 252                ; gate low, speaker off
  call void @outb(i16 97, i8 %g1)
  call void @outb(i16 67, i8 176)     ; PIT channel 2, lo/hi, mode 0
  call void @outb(i16 66, i8 156)     ; 11932 ticks of 1.193182 MHz = 10 ms
  call void @outb(i16 66, i8 46)
  %g2 = or i8 %g1, 1                  ; gate high: start counting
  call void @outb(i16 97, i8 %g2)
  %t0 = call i64 @rdtsc()
  br label %wait
wait:
  %s = call i8 @inb(i16 97)
  %out = and i8 %s, 32
  %fired = icmp ne i8 %out, 0
  br i1 %fired, label %done, label %wait
done:
  %t1 = call i64 @rdtsc()
  %d = sub i64 %t1, %t0
  %nz = icmp eq i64 %d, 0
  %d1 = select i1 %nz, i64 1, i64 %d
  store i64 %d1, ptr @tsc_per_10ms
  ret void
}

define internal void @cmd_uptime() {
  %now = call i64 @rdtsc()
  %t0 = load i64, ptr @boot_tsc
  %dt = sub i64 %now, %t0
  %k = load i64, ptr @tsc_per_10ms
  %q = udiv i64 %dt, %k
  %ms = mul i64 %q, 10
  call void @write(ptr @up, i64 3)
  call void @write_u64(i64 %ms)
  call void @write(ptr @ms, i64 5)
  ret void
}

; halt [N]: leave QEMU through isa-debug-exit; QEMU exits with (N << 1) | 1.
define internal void @cmd_halt(i64 %len) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 5, %entry ], [ %i1, %digit ]
  %v = phi i64 [ 0, %entry ], [ %v1, %digit ]
  %end = icmp uge i64 %i, %len
  br i1 %end, label %exit, label %more
more:
  %p = getelementptr [256 x i8], ptr @line, i64 0, i64 %i
  %c = load i8, ptr %p
  %d8 = sub i8 %c, 48
  %isd = icmp ult i8 %d8, 10
  br i1 %isd, label %digit, label %exit
digit:
  %d = zext i8 %d8 to i64
  %v10 = mul i64 %v, 10
  %v1 = add i64 %v10, %d
  %i1 = add i64 %i, 1
  br label %loop
exit:
  %code = trunc i64 %v to i32
  call void asm sideeffect "outl %eax, %dx", "{eax},{dx}"(i32 %code, i16 244)
  br label %stop
stop:
  call void asm sideeffect "cli; hlt", ""()
  br label %stop
}

define void @"nano_core::main"(i64 %magic, i64 %info) {
entry:
  call void @serial_init()
  %t = call i64 @rdtsc()
  store i64 %t, ptr @boot_tsc
  call void @calibrate_tsc()
  call void @write(ptr @banner, i64 28)
  br label %shell
shell:
  call void @write(ptr @prompt, i64 9)
  %len = call i64 @read_line()
  %empty = icmp eq i64 %len, 0
  br i1 %empty, label %shell, label %c_help
c_help:
  %h = call i1 @is_word(i64 %len, ptr @w_help, i64 4)
  br i1 %h, label %do_help, label %c_echo
do_help:
  call void @write(ptr @help_text, i64 122)
  br label %shell
c_echo:
  %e = call i1 @is_word(i64 %len, ptr @w_echo, i64 4)
  br i1 %e, label %do_echo, label %c_uptime
do_echo:
  %has_arg = icmp ugt i64 %len, 5
  br i1 %has_arg, label %echo_arg, label %echo_nl
echo_arg:
  %arg = getelementptr [256 x i8], ptr @line, i64 0, i64 5
  %n = sub i64 %len, 5
  call void @write(ptr %arg, i64 %n)
  br label %echo_nl
echo_nl:
  call void @write(ptr @crlf, i64 2)
  br label %shell
c_uptime:
  %u = call i1 @is_word(i64 %len, ptr @w_uptime, i64 6)
  br i1 %u, label %do_uptime, label %c_halt
do_uptime:
  call void @cmd_uptime()
  br label %shell
c_halt:
  %hl = call i1 @is_word(i64 %len, ptr @w_halt, i64 4)
  br i1 %hl, label %do_halt, label %unknown
do_halt:
  call void @cmd_halt(i64 %len)
  br label %shell
unknown:
  call void @write(ptr @unknown, i64 17)
  call void @write(ptr @line, i64 %len)
  call void @write(ptr @try_help, i64 13)
  br label %shell
}
