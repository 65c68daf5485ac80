//! Values converted to the interpreter's representation once and bound in many
//! activations: a resource evaluated by many policies is converted once, not once per
//! policy and rule.

use std::any::Any;
use std::sync::Arc;

use cel::common::traits::{
    Adder, Comparer, Container, Divider, Indexer, Iterable, Modder, Multiplier, Negator, Sizer,
    Subtractor, Zeroer,
};
use cel::common::types::Type;
use cel::common::value::{Builtin, BuiltinRef, Val};
use cel::Value;

use crate::json_to_cel;

/// A value ready to be bound (see [`crate::Activation::bind_shared`]); cloning it
/// shares the converted data.
#[derive(Clone, Debug)]
pub struct SharedValue {
    pub(crate) value: Value,
    /// The interpreter's form, or why the value has none.
    pub(crate) val: Result<Arc<dyn Val>, String>,
}

impl SharedValue {
    /// Converts `json` once.
    pub fn from_json(json: &serde_json::Value) -> Self {
        Self::from_value(json_to_cel(json))
    }

    /// Converts `value` once (a value the interpreter cannot hold reports itself at
    /// every evaluation of an activation it is bound in, as [`crate::Activation::bind`]).
    pub fn from_value(value: Value) -> Self {
        let val = Box::<dyn Val>::try_from(value.clone())
            .map(Arc::<dyn Val>::from)
            .map_err(|e| e.to_string());
        SharedValue { value, val }
    }

    /// The value.
    pub fn value(&self) -> &Value {
        &self.value
    }
}

/// A bound [`SharedValue`]: the interpreter reads it through this view, which answers
/// every question as the shared value itself does. It is only ever borrowed from the
/// activation; a copy the interpreter makes is a copy of the shared value.
#[derive(Debug)]
pub(crate) struct SharedVal(pub(crate) Arc<dyn Val>);

impl Val for SharedVal {
    fn get_type(&self) -> &Type {
        self.0.get_type()
    }

    fn cel_type() -> &'static Type
    where
        Self: Sized,
    {
        // The type of a shared value is the type of what it holds: it has no static
        // answer, as the interpreter's own structs have none; it is never named in
        // overload declarations.
        unreachable!("a shared value has the type of what it holds")
    }

    fn as_adder<'b, 'v>(&'b self) -> Option<&'b (dyn Adder + 'v)>
    where
        Self: 'v,
    {
        self.0.as_adder()
    }

    fn as_comparer(&self) -> Option<&dyn Comparer> {
        self.0.as_comparer()
    }

    fn as_container(&self) -> Option<&dyn Container> {
        self.0.as_container()
    }

    fn as_divider<'b, 'v>(&'b self) -> Option<&'b (dyn Divider + 'v)>
    where
        Self: 'v,
    {
        self.0.as_divider()
    }

    fn as_indexer<'b, 'v>(&'b self) -> Option<&'b (dyn Indexer + 'v)>
    where
        Self: 'v,
    {
        self.0.as_indexer()
    }

    fn into_indexer<'v>(self: Box<Self>) -> Option<Box<dyn Indexer + 'v>>
    where
        Self: 'v,
    {
        self.0.clone_as_boxed().into_indexer()
    }

    fn as_iterable<'b, 'v>(&'b self) -> Option<&'b (dyn Iterable + 'v)>
    where
        Self: 'v,
    {
        self.0.as_iterable()
    }

    fn as_modder<'b, 'v>(&'b self) -> Option<&'b (dyn Modder + 'v)>
    where
        Self: 'v,
    {
        self.0.as_modder()
    }

    fn as_multiplier<'b, 'v>(&'b self) -> Option<&'b (dyn Multiplier + 'v)>
    where
        Self: 'v,
    {
        self.0.as_multiplier()
    }

    fn as_negator<'b, 'v>(&'b self) -> Option<&'b (dyn Negator + 'v)>
    where
        Self: 'v,
    {
        self.0.as_negator()
    }

    fn as_sizer(&self) -> Option<&dyn Sizer> {
        self.0.as_sizer()
    }

    fn as_subtractor<'b, 'v>(&'b self) -> Option<&'b (dyn Subtractor + 'v)>
    where
        Self: 'v,
    {
        self.0.as_subtractor()
    }

    fn as_zeroer(&self) -> Option<&dyn Zeroer> {
        self.0.as_zeroer()
    }

    fn equals(&self, other: &dyn Val) -> bool {
        self.0.equals(other)
    }

    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v>
    where
        Self: 'v,
    {
        self.0.clone_as_boxed()
    }

    fn as_any(&self) -> Option<&dyn Any> {
        self.0.as_any()
    }

    fn as_builtin<'b, 'v>(&'b self) -> BuiltinRef<'b, 'v>
    where
        Self: 'v,
    {
        self.0.as_builtin()
    }

    fn into_builtin<'v>(self: Box<Self>) -> Option<Builtin<'v>>
    where
        Self: 'v,
    {
        self.0.clone_as_boxed().into_builtin()
    }
}
