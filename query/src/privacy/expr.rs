//! Expression rules over register rows. Expressions arrive *resolved*: every column is one of
//! the register's own columns, so an alias in a subquery or CTE cannot hide what a value is.
//!
//! Two grammars:
//! * **row expressions** (filters, group keys, projections below the aggregate): no direct
//!   identifier (except the year of a date identifier), and only operators and functions that
//!   cannot fail on any value — an error raised by a single row would reveal that a person with
//!   that value exists, even inside a suppressed group.
//! * **aggregate arguments**: a column, constants, `+ - *`, infallible casts and the year of a
//!   date. Nothing conditional, so each aggregate summarises every row of its group.

use arrow::datatypes::DataType;
use datafusion::common::tree_node::TreeNode;
use datafusion::common::{Column, DFSchema};
use datafusion::logical_expr::expr::{AggregateFunction, ScalarFunction};
use datafusion::logical_expr::{Expr, ExprSchemable, Operator};

use super::walk::Rows;
use super::{ALLOWED_AGGREGATES, PrivacyPolicy, Violation};

/// Which arguments of a safe function may refer to columns (the others must be constants).
enum ColumnArgs {
    /// Every argument.
    All,
    /// Only the argument at this position.
    Only(usize),
}

/// Scalar functions that cannot fail on any input value, with the arguments that may carry
/// register values (numeric "shape" arguments such as a length must be constants, because a
/// negative length is an error).
const SAFE_FUNCTIONS: &[(&str, ColumnArgs)] = &[
    ("abs", ColumnArgs::All),
    ("ceil", ColumnArgs::All),
    ("floor", ColumnArgs::All),
    ("signum", ColumnArgs::All),
    ("round", ColumnArgs::Only(0)),
    ("trunc", ColumnArgs::Only(0)),
    ("lower", ColumnArgs::All),
    ("upper", ColumnArgs::All),
    ("btrim", ColumnArgs::All),
    ("ltrim", ColumnArgs::All),
    ("rtrim", ColumnArgs::All),
    ("length", ColumnArgs::All),
    ("character_length", ColumnArgs::All),
    ("octet_length", ColumnArgs::All),
    ("concat", ColumnArgs::All),
    ("concat_ws", ColumnArgs::All),
    ("starts_with", ColumnArgs::All),
    ("ends_with", ColumnArgs::All),
    ("strpos", ColumnArgs::All),
    ("substr", ColumnArgs::Only(0)),
    ("left", ColumnArgs::Only(0)),
    ("right", ColumnArgs::Only(0)),
    ("coalesce", ColumnArgs::All),
    ("nullif", ColumnArgs::All),
    ("nvl", ColumnArgs::All),
    ("greatest", ColumnArgs::All),
    ("least", ColumnArgs::All),
    ("date_part", ColumnArgs::Only(1)),
    ("date_trunc", ColumnArgs::Only(1)),
];

/// The checks for one register relation.
pub(crate) struct ExprRules<'a> {
    policy: &'a PrivacyPolicy,
    rows: &'a Rows,
}

impl<'a> ExprRules<'a> {
    pub(crate) fn new(policy: &'a PrivacyPolicy, rows: &'a Rows) -> Self {
        Self { policy, rows }
    }

    fn base(&self) -> &DFSchema {
        &self.rows.base
    }

    /// A row expression (filter, group key, projection).
    pub(crate) fn row(&self, e: &Expr) -> Result<(), Violation> {
        match e {
            Expr::Alias(alias) => self.row(&alias.expr),
            Expr::Column(column) => self.column(column),
            Expr::Literal(..) => Ok(()),
            Expr::BinaryExpr(binary) => {
                if !row_operator(binary.op) {
                    return Err(Violation::Expression {
                        what: format!("the operator {} (it can fail on single values)", binary.op),
                    });
                }
                self.row(&binary.left)?;
                self.row(&binary.right)
            }
            Expr::Like(like) => {
                self.row(&like.expr)?;
                self.row(&like.pattern)
            }
            Expr::SimilarTo(_) => Err(Violation::Expression {
                what: "SIMILAR TO (a regular expression)".into(),
            }),
            Expr::Not(x)
            | Expr::IsNull(x)
            | Expr::IsNotNull(x)
            | Expr::IsTrue(x)
            | Expr::IsFalse(x)
            | Expr::IsUnknown(x)
            | Expr::IsNotTrue(x)
            | Expr::IsNotFalse(x)
            | Expr::IsNotUnknown(x)
            | Expr::Negative(x) => self.row(x),
            Expr::Between(between) => {
                self.row(&between.expr)?;
                self.row(&between.low)?;
                self.row(&between.high)
            }
            Expr::Case(case) => {
                if let Some(x) = &case.expr {
                    self.row(x)?;
                }
                for (when, then) in &case.when_then_expr {
                    self.row(when)?;
                    self.row(then)?;
                }
                match &case.else_expr {
                    Some(x) => self.row(x),
                    None => Ok(()),
                }
            }
            Expr::Cast(cast) => {
                self.row(&cast.expr)?;
                self.cast(&cast.expr, cast.field.data_type())
            }
            Expr::TryCast(cast) => self.row(&cast.expr),
            Expr::InList(list) => {
                self.row(&list.expr)?;
                list.list.iter().try_for_each(|x| self.row(x))
            }
            Expr::ScalarFunction(function) => self.function(function),
            // The subquery plans themselves are checked by the walk; here only what the row
            // feeds into them.
            Expr::ScalarSubquery(_) | Expr::Exists(_) => Ok(()),
            Expr::InSubquery(subquery) => self.row(&subquery.expr),
            Expr::SetComparison(comparison) => self.row(&comparison.expr),
            Expr::OuterReferenceColumn(..) => Err(Violation::CorrelatedSubquery),
            Expr::WindowFunction(_) => Err(Violation::Operation {
                what: "a window function",
            }),
            Expr::Unnest(_) => Err(Violation::Operation { what: "UNNEST" }),
            Expr::AggregateFunction(_) => Err(Violation::Expression {
                what: "an aggregate in this position".into(),
            }),
            other => Err(Violation::Expression {
                what: format!("the expression {}", short(other)),
            }),
        }
    }

    /// One aggregate expression of an `Aggregate` node.
    pub(crate) fn aggregate(&self, e: &Expr) -> Result<(), Violation> {
        let e = match e {
            Expr::Alias(alias) => alias.expr.as_ref(),
            e => e,
        };
        let Expr::AggregateFunction(AggregateFunction { func, params }) = e else {
            return Err(Violation::Expression {
                what: format!("the aggregate expression {}", short(e)),
            });
        };
        let name = func.name().to_lowercase();
        if !ALLOWED_AGGREGATES.contains(&name.as_str()) {
            return Err(Violation::Aggregate { name });
        }
        if params.distinct && name != "count" {
            return Err(Violation::AggregateOption {
                what: "DISTINCT (outside COUNT)",
            });
        }
        if params.filter.is_some() {
            return Err(Violation::AggregateOption {
                what: "FILTER (WHERE …)",
            });
        }
        if !params.order_by.is_empty() {
            return Err(Violation::AggregateOption { what: "ORDER BY" });
        }
        params
            .args
            .iter()
            .try_for_each(|arg| self.argument(arg, &name))
    }

    /// An aggregate argument.
    fn argument(&self, e: &Expr, function: &str) -> Result<(), Violation> {
        match e {
            Expr::Alias(alias) => self.argument(&alias.expr, function),
            Expr::Column(column) => self.column(column),
            Expr::Literal(..) => Ok(()),
            Expr::Negative(x) => self.argument(x, function),
            Expr::TryCast(cast) => self.argument(&cast.expr, function),
            Expr::Cast(cast) => {
                self.argument(&cast.expr, function)?;
                self.cast(&cast.expr, cast.field.data_type())
            }
            Expr::BinaryExpr(binary)
                if matches!(
                    binary.op,
                    Operator::Plus | Operator::Minus | Operator::Multiply
                ) =>
            {
                self.argument(&binary.left, function)?;
                self.argument(&binary.right, function)
            }
            Expr::ScalarFunction(f) if self.is_year(f) => Ok(()),
            other => Err(Violation::AggregateArgument {
                function: function.to_string(),
                found: short(other),
            }),
        }
    }

    fn column(&self, column: &Column) -> Result<(), Violation> {
        if !self.policy.is_identifier(&self.rows.table, &column.name) {
            return Ok(());
        }
        let hint = if self.is_date(column) {
            " — its year is available as EXTRACT(YEAR FROM column)"
        } else {
            ""
        };
        Err(Violation::Identifier {
            column: column.name.clone(),
            hint,
        })
    }

    fn function(&self, function: &ScalarFunction) -> Result<(), Violation> {
        if self.is_year(function) {
            return Ok(());
        }
        let name = function.name();
        let Some((_, column_args)) = SAFE_FUNCTIONS.iter().find(|(n, _)| *n == name) else {
            return Err(Violation::Expression {
                what: format!("the function {name} (only functions that cannot fail are allowed)"),
            });
        };
        for (i, arg) in function.args.iter().enumerate() {
            let may_use_columns = match column_args {
                ColumnArgs::All => true,
                ColumnArgs::Only(position) => *position == i,
            };
            if !may_use_columns && !is_constant(arg) {
                return Err(Violation::Expression {
                    what: format!("a non-constant argument {} of {name}", i + 1),
                });
            }
            self.row(arg)?;
        }
        Ok(())
    }

    /// `date_part('year', <date column>)`: the one generalisation of a date identifier.
    fn is_year(&self, function: &ScalarFunction) -> bool {
        let [part, value] = function.args.as_slice() else {
            return false;
        };
        let year = match part {
            Expr::Literal(value, _) => value
                .try_as_str()
                .flatten()
                .is_some_and(|s| s.eq_ignore_ascii_case("year")),
            _ => false,
        };
        let mut value = value;
        while let Expr::Cast(cast) = value {
            value = &cast.expr;
        }
        function.name() == "date_part"
            && year
            && matches!(value, Expr::Column(c) if self.is_date(c))
    }

    fn is_date(&self, column: &Column) -> bool {
        self.base()
            .field_with_unqualified_name(&column.name)
            .is_ok_and(|f| {
                matches!(
                    f.data_type(),
                    DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
                )
            })
    }

    /// Refuses casts of register values that can fail for some value.
    fn cast(&self, inner: &Expr, to: &DataType) -> Result<(), Violation> {
        if is_constant(inner) {
            return Ok(());
        }
        let from = inner
            .get_type(self.base())
            .map_err(|_| Violation::Expression {
                what: format!("a cast of {}", short(inner)),
            })?;
        if cast_never_fails(&from, to) {
            return Ok(());
        }
        Err(Violation::Expression {
            what: format!(
                "a cast of {} from {from} to {to} (it can fail on single values; compare with a value of the column's type or use TRY_CAST)",
                short(inner)
            ),
        })
    }
}

/// Binary operators that cannot fail on any value (arithmetic wraps in DataFusion).
fn row_operator(op: Operator) -> bool {
    use Operator as O;
    matches!(
        op,
        O::Eq
            | O::NotEq
            | O::Lt
            | O::LtEq
            | O::Gt
            | O::GtEq
            | O::And
            | O::Or
            | O::Plus
            | O::Minus
            | O::Multiply
            | O::IsDistinctFrom
            | O::IsNotDistinctFrom
            | O::StringConcat
            | O::LikeMatch
            | O::ILikeMatch
            | O::NotLikeMatch
            | O::NotILikeMatch
    )
}

/// True when `e` refers to no column, outer query or subquery (a constant for every row).
fn is_constant(e: &Expr) -> bool {
    !e.exists(|x| {
        Ok(matches!(
            x,
            Expr::Column(_)
                | Expr::OuterReferenceColumn(..)
                | Expr::ScalarSubquery(_)
                | Expr::Exists(_)
                | Expr::InSubquery(_)
                | Expr::SetComparison(_)
                | Expr::ScalarVariable(..)
                | Expr::Placeholder(_)
        ))
    })
    .unwrap_or(false)
}

/// Casts that succeed for every value of `from`.
fn cast_never_fails(from: &DataType, to: &DataType) -> bool {
    use DataType as D;
    let signed = |t: &DataType| match t {
        D::Int8 => Some(8),
        D::Int16 => Some(16),
        D::Int32 => Some(32),
        D::Int64 => Some(64),
        _ => None,
    };
    let unsigned = |t: &DataType| match t {
        D::UInt8 => Some(8),
        D::UInt16 => Some(16),
        D::UInt32 => Some(32),
        D::UInt64 => Some(64),
        _ => None,
    };
    if from == to || matches!(from, D::Null) {
        return true;
    }
    if matches!(to, D::Utf8 | D::LargeUtf8 | D::Utf8View) {
        return !matches!(from, D::Binary | D::LargeBinary | D::BinaryView);
    }
    match (from, to) {
        (D::Float16 | D::Float32, D::Float32 | D::Float64) => true,
        (D::Boolean, _) if signed(to).is_some() || unsigned(to).is_some() => true,
        (_, D::Float32 | D::Float64) => signed(from).is_some() || unsigned(from).is_some(),
        (D::Date32, D::Date64) => true,
        _ => match (signed(from), unsigned(from), signed(to), unsigned(to)) {
            (Some(a), _, Some(b), _) => a <= b,
            (_, Some(a), Some(b), _) => a < b,
            (_, Some(a), _, Some(b)) => a <= b,
            _ => false,
        },
    }
}

/// An expression for a message, shortened (it is the caller's own SQL, never data).
fn short(e: &Expr) -> String {
    let text = e.to_string();
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::common::ScalarValue;

    #[test]
    fn casts_that_cannot_fail() {
        assert!(cast_never_fails(&DataType::Int32, &DataType::Int64));
        assert!(cast_never_fails(&DataType::Int64, &DataType::Float64));
        assert!(cast_never_fails(&DataType::Date32, &DataType::Utf8));
        assert!(cast_never_fails(&DataType::UInt32, &DataType::Int64));
        assert!(!cast_never_fails(&DataType::Utf8, &DataType::Int64));
        assert!(!cast_never_fails(&DataType::Int64, &DataType::Int32));
        assert!(!cast_never_fails(&DataType::Utf8, &DataType::Date32));
        assert!(!cast_never_fails(&DataType::Float64, &DataType::Int64));
    }

    #[test]
    fn literals_are_constant_columns_are_not() {
        use datafusion::prelude::{col, lit};
        assert!(is_constant(&(lit(1) + lit(2))));
        assert!(!is_constant(&(col("a") + lit(2))));
        assert!(is_constant(&Expr::Literal(ScalarValue::Utf8(None), None)));
    }
}
