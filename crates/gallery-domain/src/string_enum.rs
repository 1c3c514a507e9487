//! Spec enums that accept any casing and always answer in the spec's casing.
//!
//! Azure deserializes enum strings case-insensitively (`"linux"` is accepted for `osType`) but serves
//! the canonical spelling. [`string_enum!`] declares such an enum once: its variants, their wire
//! spellings, lenient parsing with an ARM `InvalidParameter` error naming the property, and serde in
//! both directions (stored documents round-trip through the same code).

/// Declares a spec enum. Each variant names its canonical wire string.
#[macro_export]
macro_rules! string_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name { $($(#[$variant_meta])* $variant),+ }

        impl $name {
            /// Every canonical spelling, in declaration order.
            pub const ALL: &'static [&'static str] = &[$($wire),+];

            /// The canonical wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses any casing of a wire spelling.
            pub fn from_wire(value: &str) -> Option<Self> {
                $(if value.eq_ignore_ascii_case($wire) { return Some($name::$variant); })+
                None
            }

            /// Parses a request value; an unknown value is a 400 `InvalidParameter` on `target`.
            pub fn parse(value: &str, target: &str) -> Result<Self, $crate::ServiceError> {
                Self::from_wire(value).ok_or_else(|| $crate::ServiceError::invalid_parameter(
                    target,
                    format!(
                        "The value '{}' of parameter '{}' is not valid. Allowed values: '{}'.",
                        value, target, Self::ALL.join("', '")
                    ),
                ))
            }
        }

        impl ::std::convert::TryFrom<String> for $name {
            type Error = String;

            /// Parses any casing of a wire spelling (for stored values).
            fn try_from(value: String) -> Result<Self, String> {
                Self::from_wire(&value).ok_or_else(|| format!("'{}' is not one of '{}'", value, Self::ALL.join("', '")))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                formatter.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                Self::from_wire(&value).ok_or_else(|| ::serde::de::Error::unknown_variant(&value, Self::ALL))
            }
        }
    };
}
