//! The `codes!` macro: one line per value of a closed vocabulary (machine code, Chinese
//! label), from which the enum, its string form, parsing, serde and the label are all
//! generated. Adding a value is adding a line; nothing else can forget it.

/// Error of parsing a code that is not in its vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {vocabulary} code {code:?}")]
pub struct UnknownCode {
    pub vocabulary: &'static str,
    pub code: String,
}

/// Declares a code enum: `Variant = "code", "中文";` per line, optionally followed by
/// `, "what to do"` (the operator hint).
#[macro_export]
#[doc(hidden)]
macro_rules! domain_codes {
    (@hint) => { None };
    (@hint $hint:literal) => { Some($hint) };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $var:ident = $code:literal, $zh:literal $(, $hint:literal)?; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $var, )+
        }

        impl $name {
            /// Every value, in declaration (display) order.
            pub const ALL: [$name; [$($name::$var),+].len()] = [$($name::$var),+];

            /// The machine code used in JSON, the database and the CLI.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$var => $code, )+ }
            }

            /// The value a machine code names, if any.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $( $code => Some($name::$var), )+ _ => None }
            }

            /// The Chinese label operators and applicants read.
            pub fn label_zh(self) -> &'static str {
                match self { $( $name::$var => $zh, )+ }
            }

            /// What an operator should do about it, where the vocabulary says.
            pub fn hint_zh(self) -> Option<&'static str> {
                match self { $( $name::$var => $crate::domain_codes!(@hint $($hint)?), )+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::domain::codes::UnknownCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s).ok_or_else(|| $crate::domain::codes::UnknownCode {
                    vocabulary: stringify!($name),
                    code: s.to_string(),
                })
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
    };
}
