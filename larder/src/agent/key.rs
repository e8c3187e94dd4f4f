//! [`ToolKey`]: the cache key of one tool call (its scope, the tool's name and the canonical
//! arguments), as one string, so that hashing and comparing it is one pass over bytes, and
//! so that a tiered cache stores it as it is.

use std::fmt;

/// The key of one tool call: its scope (global, or a session's id), the tool's name and its
/// [canonical](super::canonical_args) arguments.
///
/// It is one string: `g` for the global scope or `s<len>:<session id>` for a session, then
/// `<len>:<tool name>`, then the arguments. Lengths are in bytes, so names may hold any
/// character. A tiered cache stores entries under this text (after its own namespace).
///
/// # Examples
///
/// ```
/// use larder::agent::ToolKey;
///
/// let key = ToolKey::new(Some("agent-a"), "search", r#"{"q":"rust"}"#);
/// assert_eq!(key.session(), Some("agent-a"));
/// assert_eq!(key.tool(), "search");
/// assert_eq!(key.args(), r#"{"q":"rust"}"#);
/// assert_eq!(key.as_str(), r#"s7:agent-a6:search{"q":"rust"}"#);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ToolKey {
    text: Box<str>,
}

impl ToolKey {
    /// The key of a call of `tool` with canonical arguments `args`, in `session`'s scope or,
    /// with `None`, the global one.
    pub fn new(session: Option<&str>, tool: &str, args: &str) -> Self {
        let mut text = String::with_capacity(16 + tool.len() + args.len());
        match session {
            None => text.push('g'),
            Some(id) => {
                text.push('s');
                text.push_str(&id.len().to_string());
                text.push(':');
                text.push_str(id);
            }
        }
        text.push_str(&tool.len().to_string());
        text.push(':');
        text.push_str(tool);
        text.push_str(args);
        Self { text: text.into() }
    }

    /// The key whose text is `text`, or `None` if no key has that text.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::ToolKey;
    ///
    /// let key = ToolKey::new(None, "search", "{}");
    /// assert_eq!(ToolKey::parse(key.as_str()), Some(key));
    /// assert_eq!(ToolKey::parse("x"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let key = Self { text: text.into() };
        key.parts()?;
        Some(key)
    }

    /// The key as one string.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The scope of the session that holds the entry (its path of ids, escaped: see
    /// [`Session`](super::Session)), or `None` for the global scope.
    pub fn session(&self) -> Option<&str> {
        self.parts().and_then(|p| p.0)
    }

    /// The tool's name.
    pub fn tool(&self) -> &str {
        self.parts().map_or("", |p| p.1)
    }

    /// The canonical arguments.
    pub fn args(&self) -> &str {
        self.parts().map_or("", |p| p.2)
    }

    /// (session, tool, args), or `None` for a malformed text (only `parse` can meet one).
    fn parts(&self) -> Option<(Option<&str>, &str, &str)> {
        let text = &*self.text;
        let (session, rest) = match text.as_bytes().first()? {
            b'g' => (None, &text[1..]),
            b's' => {
                let (id, rest) = take_counted(&text[1..])?;
                (Some(id), rest)
            }
            _ => return None,
        };
        let (tool, args) = take_counted(rest)?;
        Some((session, tool, args))
    }
}

/// Splits `<len>:<len bytes>` off the front of `text`.
fn take_counted(text: &str) -> Option<(&str, &str)> {
    let colon = text.find(':')?;
    let len: usize = text[..colon].parse().ok()?;
    let rest = &text[colon + 1..];
    if !rest.is_char_boundary(len.min(rest.len())) || len > rest.len() {
        return None;
    }
    Some(rest.split_at(len))
}

impl fmt::Debug for ToolKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolKey")
            .field("session", &self.session())
            .field("tool", &self.tool())
            .field("args", &self.args())
            .finish()
    }
}

#[cfg(feature = "tier")]
impl crate::tier::TierKey for ToolKey {
    fn encode(&self, out: &mut String) {
        out.push_str(&self.text);
    }

    fn decode(encoded: &str) -> Option<Self> {
        Self::parse(encoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_separators_do_not_collide() {
        let a = ToolKey::new(Some("a:1"), "b", "{}");
        let b = ToolKey::new(Some("a"), "1b", "{}");
        assert_ne!(a, b);
        assert_eq!(a.session(), Some("a:1"));
        assert_eq!(b.tool(), "1b");
        let unicode = ToolKey::new(Some("sé"), "🦀", "[]");
        assert_eq!(ToolKey::parse(unicode.as_str()), Some(unicode.clone()));
        assert_eq!(unicode.tool(), "🦀");
        assert_ne!(
            ToolKey::new(None, "t", "{}"),
            ToolKey::new(Some(""), "t", "{}")
        );
    }

    #[test]
    fn malformed_texts_do_not_parse() {
        for text in ["", "q", "s", "s9:ab1:t{}", "g3:ab", "gx:t", "s1:é1:t"] {
            assert_eq!(ToolKey::parse(text), None, "{text}");
        }
    }
}
