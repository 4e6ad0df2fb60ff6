"""Tests of theseus_nb.build: IR to ELF objects, sections and the cache."""

from __future__ import annotations

from llvmlite import ir

from theseus_nb import build
from theseus_nb.objects import parse_object

ADD_IR = """
@"calc::counter" = global i64 7
@"calc::table" = global [4 x i64] zeroinitializer
define i64 @"calc::add"(i64 %a, i64 %b) {
  %s = add i64 %a, %b
  ret i64 %s
}
"""


def _ir_module() -> ir.Module:
    module = ir.Module(name="calc")
    i64 = ir.IntType(64)
    fn = ir.Function(module, ir.FunctionType(i64, [i64]), name="calc::double")
    b = ir.IRBuilder(fn.append_basic_block())
    b.ret(b.add(fn.args[0], fn.args[0]))
    g = ir.GlobalVariable(module, i64, "calc::limit")
    g.initializer = ir.Constant(i64, 3)
    ir.GlobalVariable(module, i64, "calc::zeroed").initializer = ir.Constant(i64, 0)
    return module


def test_one_section_per_function_and_global_from_ir_text(object_cache):
    obj = parse_object(build.compile_object(ADD_IR, "calc").data, "calc")
    names = {s.name: s.kind for s in obj.sections.values()}
    assert names == {".text.calc.add": "text", ".data.calc.counter": "data",
                     ".bss.calc.table": "bss"}


def test_one_section_per_function_and_global_from_ir_module(object_cache):
    obj = parse_object(build.compile_object(_ir_module(), "calc").data, "calc")
    names = {s.name: s.kind for s in obj.sections.values()}
    assert names == {".text.calc.double": "text", ".data.calc.limit": "data",
                     ".bss.calc.zeroed": "bss"}


#: Copying 64 bytes: on an SSE target LLVM moves them through xmm registers.
COPY_IR = """
define void @"calc::copy"(ptr %dst, ptr %src) {
  call void @llvm.memcpy.p0.p0.i64(ptr %dst, ptr %src, i64 64, i1 false)
  ret void
}
declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)
"""


def test_kernel_code_has_no_red_zone_and_no_sse():
    module = _ir_module()
    build.assign_sections(module, "calc")
    fn = module.get_global("calc::double")
    assert "noredzone" in fn.attributes
    # What the build emits, not what its settings say: no SSE register anywhere,
    # even for a copy that SSE would do in four moves.
    asm = build.kernel_asm(COPY_IR, "calc")
    assert "calc::copy" in asm and "xmm" not in asm and "movups" not in asm


def test_objects_are_cached_by_content(object_cache):
    first = build.compile_object(ADD_IR, "calc")
    second = build.compile_object(ADD_IR, "calc")
    changed = build.compile_object(ADD_IR.replace("i64 7", "i64 8"), "calc")
    assert not first.cached and second.cached and not changed.cached
    assert first.data == second.data and first.key != changed.key


def test_bad_ir_is_a_build_error_naming_the_cell(object_cache):
    try:
        build.compile_object("define i64 @f() { ret i32 0 }", "broken")
    except build.BuildError as exc:
        assert "broken" in str(exc)
    else:
        raise AssertionError("bad IR compiled")


def test_module_asm_escapes_quotes():
    text = build.module_asm('call "nano_core::main"')
    assert text == 'module asm "call \\22nano_core::main\\22"\n'


BIG_CELL = """\
from theseus_nb.lang.prelude import *

zeros: Array[u8, 1048576] = [0] * 1048576
ones: Array[u8, 100000] = [1] * 100000


def fill(k: u64) -> u64:
    local: Array[u8, 100000] = [7] * 100000
    for i in range(k):
        local[i % 100000] = u8(i % 200)
    return u64(local[k % 100000]) + u64(zeros[k]) + u64(ones[k])
"""


def test_big_arrays_become_bss_data_and_a_memset(object_cache):
    from theseus_nb.lang import compile_cell

    obj = parse_object(build.compile_object(compile_cell(BIG_CELL, "big").module, "big").data, "big")
    sizes = {s.name: (s.kind, s.size) for s in obj.sections.values()}
    # a megabyte of zeros costs no bytes in the object (.bss); the ones are data
    assert sizes[".bss.big.zeros"] == ("bss", 1048576)
    assert sizes[".data.big.ones"] == ("data", 100000)
    # the local is filled by the kernel's memset (boot.s), not by 100 000 stores
    assert "memset" in {s.name for s in obj.undefined}
    assert sizes[".text.big.fill"][1] < 1000
