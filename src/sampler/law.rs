//! [`Law`]: the catalogue of sampled laws by name, so one generic binding (and the batch of
//! `ferroinit.torch`) reaches every distribution of this folder without naming it.
//!
//! The catalogue itself is the [`laws!`] invocation in `sampler/mod.rs`: one line per law,
//! `Variant("name", param, ...) = Type`, where `Type::new(param, ...)` validates the
//! parameters (torch's errors) and `Type` is a [`Distribution`]. From it come the [`Law`] enum,
//! [`Law::new`] (a law from its name and parameters), [`Law::CATALOGUE`] (every name with its
//! parameter names, which the Python registry is checked against) and [`Law::visit`] (the
//! law's distribution, to code generic over [`Distribution`]).

use super::Distribution;

/// Code that is generic over the distribution of a [`Law`] (see [`Law::visit`]).
pub trait Visit {
    type Output;
    fn visit<D: Distribution>(self, d: &D) -> Self::Output;
}

/// Defines [`Law`] from the catalogue lines (see the module documentation).
macro_rules! laws {
    ($($(#[$doc:meta])* $variant:ident($name:literal $(, $p:ident)*) = $ty:ty),* $(,)?) => {
        /// A sampled law of the catalogue, its parameters validated.
        #[derive(Clone, Copy, Debug)]
        pub enum Law {
            $($(#[$doc])* $variant($ty)),*
        }

        impl Law {
            /// Every law: its name and its parameters' names, in order.
            pub const CATALOGUE: &'static [(&'static str, &'static [&'static str])] =
                &[$(($name, &[$(stringify!($p)),*])),*];

            /// The law `name` with `params` (in the catalogue's order), validated as its
            /// constructor does; an unknown name or a wrong count is a `ValueError`.
            pub fn new(name: &str, params: &[f64]) -> $crate::error::Result<Law> {
                match name {
                    $($name => match *params {
                        [$($p),*] => Ok(Law::$variant(<$ty>::new($($p),*)?)),
                        _ => Err($crate::sampler::law::arity(name, params.len())),
                    },)*
                    _ => Err($crate::sampler::law::unknown(name)),
                }
            }

            /// `v` applied to this law's distribution.
            pub fn visit<V: $crate::sampler::law::Visit>(&self, v: V) -> V::Output {
                match self {
                    $(Law::$variant(d) => v.visit(d)),*
                }
            }
        }
    };
}
pub(crate) use laws;

fn names() -> String {
    let all: Vec<&str> = super::Law::CATALOGUE.iter().map(|(n, _)| *n).collect();
    all.join(", ")
}

pub(crate) fn unknown(name: &str) -> crate::error::Error {
    crate::error::Error::Value(format!("no law {name:?}; the laws are {}", names()))
}

/// The parameters' names of the law `name`, in order (empty for an unknown name).
pub fn parameters(name: &str) -> &'static [&'static str] {
    super::Law::CATALOGUE
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(&[][..], |(_, p)| *p)
}

pub(crate) fn arity(name: &str, got: usize) -> crate::error::Error {
    let params = parameters(name);
    crate::error::Error::Value(format!(
        "law {name:?} takes {} parameters ({}), but got {got}",
        params.len(),
        params.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::super::Law;
    use crate::error::Error;

    #[test]
    fn laws_by_name_validate_their_parameters() {
        assert!(matches!(
            Law::new("normal", &[0.0, 1.0]),
            Ok(Law::Normal(_))
        ));
        assert!(matches!(
            Law::new("uniform", &[2.0, 1.0]),
            Err(Error::Runtime(_))
        ));
        let Err(Error::Value(m)) = Law::new("normal", &[0.0]) else {
            panic!("arity")
        };
        assert_eq!(
            m,
            "law \"normal\" takes 2 parameters (mean, std), but got 1"
        );
        let Err(Error::Value(m)) = Law::new("no_such_law", &[]) else {
            panic!("unknown")
        };
        assert!(m.contains("trunc_normal"), "{m}");
    }

    #[test]
    fn the_catalogue_lists_every_law_once() {
        let mut names: Vec<&str> = Law::CATALOGUE.iter().map(|(n, _)| *n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Law::CATALOGUE.len());
        assert_eq!(
            Law::CATALOGUE[2],
            ("trunc_normal", &["mean", "std", "a", "b"][..])
        );
    }
}
