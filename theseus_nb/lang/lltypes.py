"""How cell types look in LLVM: scalars by value, arrays and structs in memory, str as {ptr, i64}."""
from __future__ import annotations

import llvmlite.ir.types
from llvmlite import ir

# LLVM 22 has only opaque pointers; llvmlite still prints allocas and globals as
# typed pointers (`i64*`) unless this switch (normally read from the environment
# variable LLVMLITE_ENABLE_IR_LAYER_TYPED_POINTERS at import) is off.  Printing
# `ptr` everywhere is what LLVM itself prints, so turning it off is harmless.
llvmlite.ir.types.ir_layer_typed_pointers_enabled = False

from .types import BOOL, FNREF, NONE, STR, ArrayT, IntT, StructT, TupleT, Type, is_aggregate

I1, I8, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(64)
PTR = ir.PointerType()
STR_T = ir.LiteralStructType([PTR, I64])
PANIC_T = ir.FunctionType(ir.VoidType(), [STR_T, STR_T, I64])
FNREF_T = ir.FunctionType(I64, [I64])


def llvm_type(ty: Type) -> ir.Type:
    """The in-memory LLVM type of a cell type.

    A bool is an i8 (0 or 1) in memory and an i1 in registers (`value_type`), as
    clang does: LLVM does not know what an i1 store leaves in the rest of its
    byte, so it cannot turn a loop storing i1s into a memset.
    """
    if isinstance(ty, IntT):
        return ir.IntType(ty.bits)
    if ty == BOOL:
        return I8
    if ty == STR:
        return STR_T
    if ty == FNREF:
        return PTR
    if ty == NONE:
        return ir.VoidType()
    if isinstance(ty, ArrayT):
        return ir.ArrayType(llvm_type(ty.elem), ty.n)
    if isinstance(ty, StructT):
        return ir.LiteralStructType([llvm_type(f) for _, f in ty.fields])
    raise TypeError(ty)


def value_type(ty: Type) -> ir.Type:
    """The LLVM type of a cell value in a register: as in memory, but a bool is an i1
    (a tuple, only ever in registers, is a literal struct of its elements)."""
    if isinstance(ty, TupleT):
        return ir.LiteralStructType([value_type(t) for t in ty.elems])
    return I1 if ty == BOOL else llvm_type(ty)


def param_type(ty: Type) -> ir.Type:
    """Arrays and structs are passed by reference, everything else by value."""
    return PTR if is_aggregate(ty) else value_type(ty)


def function_type(params: list, ret: Type) -> ir.FunctionType:
    return ir.FunctionType(value_type(ret), [param_type(t) for _, t in params])


