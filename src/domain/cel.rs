//! `dependsOn[].readyExpr` evaluation (flux-facts §2.2 rule 2, §3.5 rule 2): a CEL
//! expression over the variables `self` (the dependent) and `dep` (the dependency), both the
//! objects as JSON. The controllers use cel-go; fluxdeck evaluates with cel-rust, so anything
//! cel-rust cannot parse or run is reported as "not evaluated here" rather than guessed.

use std::collections::HashMap;

use cel::{Context, ExecutionError, Program, Value as CelValue};
use serde_json::Value;

/// The result of evaluating one `readyExpr`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExprOutcome {
    /// The expression is true: the dependency is ready.
    True,
    /// The expression is false: the controller reports `… is not ready according to
    /// readyExpr eval`.
    False,
    /// The expression failed at run time the way cel-go fails too (a missing field), so the
    /// controller's check fails with this error.
    Error(String),
    /// fluxdeck cannot evaluate the expression (it does not parse here, uses a function
    /// cel-rust lacks, or does not yield a bool); the text says why.
    Unevaluated(String),
}

impl ExprOutcome {
    /// Whether the dependency check fails because of the expression.
    pub fn fails(&self) -> bool {
        matches!(self, ExprOutcome::False | ExprOutcome::Error(_))
    }
}

/// Evaluate `expr` with `self` and `dep` bound to the given objects.
pub fn eval_ready_expr(expr: &str, self_obj: &Value, dep_obj: &Value) -> ExprOutcome {
    let run = || -> ExprOutcome {
        let program = match Program::compile(expr) {
            Ok(p) => p,
            Err(e) => {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or("");
                return ExprOutcome::Unevaluated(format!("does not compile: {first}"));
            }
        };
        let mut context = Context::default();
        context.add_variable_from_value("self", to_cel(self_obj));
        context.add_variable_from_value("dep", to_cel(dep_obj));
        match program.execute(&context) {
            Ok(CelValue::Bool(true)) => ExprOutcome::True,
            Ok(CelValue::Bool(false)) => ExprOutcome::False,
            Ok(other) => {
                ExprOutcome::Unevaluated(format!("yields {} instead of a bool", type_name(&other)))
            }
            Err(e @ ExecutionError::NoSuchKey(_)) => ExprOutcome::Error(e.to_string()),
            Err(e) => ExprOutcome::Unevaluated(e.to_string()),
        }
    };
    super::contain::contain(run).unwrap_or_else(|| {
        ExprOutcome::Unevaluated("the CEL evaluator failed on this expression".to_string())
    })
}

fn type_name(v: &CelValue) -> &'static str {
    match v {
        CelValue::Int(_) => "an int",
        CelValue::UInt(_) => "a uint",
        CelValue::Float(_) => "a double",
        CelValue::String(_) => "a string",
        CelValue::List(_) => "a list",
        CelValue::Map(_) => "a map",
        CelValue::Null => "null",
        _ => "a non-bool value",
    }
}

/// JSON as CEL sees an unstructured Kubernetes object: integers are `int` (as in cel-go's
/// view of `map[string]any`), and absent fields are absent rather than null, so
/// `has(dep.status.x)` means what it means in the cluster.
fn to_cel(value: &Value) -> CelValue {
    match value {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => CelValue::Int(i),
            (None, Some(u)) => CelValue::UInt(u),
            _ => CelValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => CelValue::from(s.clone()),
        Value::Array(items) => CelValue::from(items.iter().map(to_cel).collect::<Vec<_>>()),
        Value::Object(map) => CelValue::from(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), to_cel(v)))
                .collect::<HashMap<String, CelValue>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn objects() -> (Value, Value) {
        let this = json!({"metadata": {"name": "backend", "annotations": null},
            "status": {"lastAppliedRevision": "main@sha1:abc"}});
        let dep = json!({"metadata": {"name": "redis", "generation": 2},
            "status": {"observedGeneration": 2, "lastAppliedRevision": "main@sha1:abc",
                "conditions": [{"type": "Ready", "status": "True"}]}});
        (this, dep)
    }

    #[test]
    fn evaluates_true_false_and_errors() {
        let (this, dep) = objects();
        let eval = |e: &str| eval_ready_expr(e, &this, &dep);
        assert_eq!(
            eval("dep.status.lastAppliedRevision == self.status.lastAppliedRevision"),
            ExprOutcome::True
        );
        assert_eq!(
            eval("dep.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')"),
            ExprOutcome::True
        );
        assert_eq!(
            eval("dep.metadata.generation == dep.status.observedGeneration + 1"),
            ExprOutcome::False
        );
        assert_eq!(eval("has(self.metadata.annotations)"), ExprOutcome::False);
        assert!(matches!(
            eval("dep.status.missing == 'x'"),
            ExprOutcome::Error(_)
        ));
        assert!(eval("dep.status.missing == 'x'").fails());
        assert!(matches!(
            eval("dep.status.(("),
            ExprOutcome::Unevaluated(m) if m.starts_with("does not compile")
        ));
        assert!(matches!(
            eval("dep.metadata.name"),
            ExprOutcome::Unevaluated(m) if m.contains("a string")
        ));
        assert!(!eval("dep.metadata.name").fails());
    }
}
