//! JSON as Azure Resource Manager reads it, with the position of every value.
//!
//! ARM parses request bodies and templates with a lenient JSON reader: `//` and `/* */` comments,
//! raw line breaks inside strings (multi-line strings), trailing commas, single-quoted strings,
//! unquoted property names and a leading byte-order mark are all accepted. `az deployment group
//! create` relies on this: it puts the template file's text into the request body verbatim. Errors
//! name the line and position in the text received, and every parsed value keeps its own line and
//! column so later errors ("The template resource 'x' at line '12' and column '9' …") can point at it.
//!
//! The reader is iterative over input size and bounded in depth, so no input can exhaust the stack.

use serde_json::{Map, Number, Value};

/// Deepest nesting of arrays and objects accepted. Deeper input is rejected, never recursed into.
pub const MAX_DEPTH: usize = 256;

/// A JSON value with the line and column (both 1-based) where it starts in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub position: Position,
}

/// A line and column in the received text, both counted from 1 (0/0 means "unknown", as Azure does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// The shape of a parsed value; objects keep their properties in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

/// A syntax error, worded like Json.NET's (`… Path 'a.b', line 3, position 7.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonSyntaxError {
    pub reason: String,
    pub path: String,
    pub position: Position,
}

impl std::fmt::Display for JsonSyntaxError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} Path '{}', line {}, position {}.",
            self.reason, self.path, self.position.line, self.position.column
        )
    }
}

impl std::error::Error for JsonSyntaxError {}

impl Node {
    /// The value without positions.
    pub fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(flag) => Value::Bool(*flag),
            NodeKind::Number(number) => Value::Number(number.clone()),
            NodeKind::String(text) => Value::String(text.clone()),
            NodeKind::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            NodeKind::Object(properties) => {
                let mut map = Map::new();
                for (key, node) in properties {
                    map.insert(key.clone(), node.to_value());
                }
                Value::Object(map)
            }
        }
    }

    /// A node built from a value that has no text behind it (positions 0/0).
    pub fn from_value(value: &Value) -> Node {
        let kind = match value {
            Value::Null => NodeKind::Null,
            Value::Bool(flag) => NodeKind::Bool(*flag),
            Value::Number(number) => NodeKind::Number(number.clone()),
            Value::String(text) => NodeKind::String(text.clone()),
            Value::Array(items) => NodeKind::Array(items.iter().map(Node::from_value).collect()),
            Value::Object(map) => NodeKind::Object(
                map.iter()
                    .map(|(key, item)| (key.clone(), Node::from_value(item)))
                    .collect(),
            ),
        };
        Node {
            kind,
            position: Position::default(),
        }
    }

    /// The property `name` of an object, exact case first, then ignoring case.
    pub fn property(&self, name: &str) -> Option<&Node> {
        let NodeKind::Object(properties) = &self.kind else {
            return None;
        };
        properties
            .iter()
            .find(|(key, _)| key == name)
            .or_else(|| {
                properties
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
            })
            .map(|(_, node)| node)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::String(text) => Some(text),
            _ => None,
        }
    }
}

/// Parses `text` (optionally starting with a byte-order mark) into a positioned tree.
pub fn parse(text: &str) -> Result<Node, JsonSyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader {
        chars: text.chars().collect(),
        offset: 0,
        line: 1,
        column: 0,
        path: Vec::new(),
    };
    reader.skip_trivia()?;
    let node = reader.value(0)?;
    reader.skip_trivia()?;
    if reader.offset < reader.chars.len() {
        return Err(reader.error(
            "Additional text encountered after finished reading JSON content: ".to_string()
                + &reader.chars[reader.offset].to_string()
                + ".",
        ));
    }
    Ok(node)
}

/// Parses `text` and drops positions.
pub fn parse_value(text: &str) -> Result<Value, JsonSyntaxError> {
    parse(text).map(|node| node.to_value())
}

enum PathPart {
    Property(String),
    Index(usize),
}

struct Reader {
    chars: Vec<char>,
    offset: usize,
    line: u32,
    column: u32,
    path: Vec<PathPart>,
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.offset).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let character = self.chars.get(self.offset).copied()?;
        self.offset += 1;
        if character == '\n' {
            self.line += 1;
            self.column = 0;
        } else if character == '\r' {
            if self.peek() != Some('\n') {
                self.line += 1;
                self.column = 0;
            }
        } else {
            self.column += 1;
        }
        Some(character)
    }

    fn here(&self) -> Position {
        Position {
            line: self.line,
            column: self.column + 1,
        }
    }

    fn path_text(&self) -> String {
        let mut text = String::new();
        for part in &self.path {
            match part {
                PathPart::Property(name) => {
                    if !text.is_empty() {
                        text.push('.');
                    }
                    text.push_str(name);
                }
                PathPart::Index(index) => {
                    text.push_str(&format!("[{index}]"));
                }
            }
        }
        text
    }

    fn error(&self, reason: impl Into<String>) -> JsonSyntaxError {
        JsonSyntaxError {
            reason: reason.into(),
            path: self.path_text(),
            position: Position {
                line: self.line,
                column: self.column,
            },
        }
    }

    fn skip_trivia(&mut self) -> Result<(), JsonSyntaxError> {
        loop {
            match self.peek() {
                Some(character) if character.is_whitespace() || character == '\u{feff}' => {
                    self.bump();
                }
                Some('/') => match self.chars.get(self.offset + 1) {
                    Some('/') => {
                        while let Some(character) = self.peek() {
                            if character == '\n' || character == '\r' {
                                break;
                            }
                            self.bump();
                        }
                    }
                    Some('*') => {
                        self.bump();
                        self.bump();
                        loop {
                            match self.bump() {
                                None => {
                                    return Err(self.error("Unexpected end while parsing comment."));
                                }
                                Some('*') if self.peek() == Some('/') => {
                                    self.bump();
                                    break;
                                }
                                Some(_) => {}
                            }
                        }
                    }
                    _ => return Err(self.error("Error parsing comment. Expected: *, got /.")),
                },
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, JsonSyntaxError> {
        let position = self.here();
        let Some(character) = self.peek() else {
            return Err(self.error("Unexpected end when reading JSON."));
        };
        let kind = match character {
            '{' => {
                if depth >= MAX_DEPTH {
                    return Err(self.error(format!(
                        "The reader's MaxDepth of {MAX_DEPTH} has been exceeded."
                    )));
                }
                self.object(depth)?
            }
            '[' => {
                if depth >= MAX_DEPTH {
                    return Err(self.error(format!(
                        "The reader's MaxDepth of {MAX_DEPTH} has been exceeded."
                    )));
                }
                self.array(depth)?
            }
            '"' | '\'' => NodeKind::String(self.string(character)?),
            '-' | '0'..='9' => NodeKind::Number(self.number()?),
            _ if character.is_alphabetic() => {
                let word = self.word();
                match word.as_str() {
                    "true" => NodeKind::Bool(true),
                    "false" => NodeKind::Bool(false),
                    "null" | "undefined" => NodeKind::Null,
                    _ => {
                        return Err(self.error(format!(
                            "Unexpected character encountered while parsing value: {}.",
                            word.chars().next().unwrap_or(character)
                        )));
                    }
                }
            }
            other => {
                return Err(self.error(format!(
                    "Unexpected character encountered while parsing value: {other}."
                )));
            }
        };
        Ok(Node { kind, position })
    }

    fn word(&mut self) -> String {
        let mut word = String::new();
        while let Some(character) = self.peek() {
            if character.is_alphanumeric() || character == '_' || character == '$' {
                word.push(character);
                self.bump();
            } else {
                break;
            }
        }
        word
    }

    fn object(&mut self, depth: usize) -> Result<NodeKind, JsonSyntaxError> {
        self.bump();
        let mut properties: Vec<(String, Node)> = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.peek() {
                None => return Err(self.error("Unexpected end when reading JSON.")),
                Some('}') => {
                    self.bump();
                    return Ok(NodeKind::Object(properties));
                }
                _ => {}
            }
            let key = match self.peek() {
                Some(quote @ ('"' | '\'')) => self.string(quote)?,
                Some(character)
                    if character.is_alphabetic() || character == '_' || character == '$' =>
                {
                    self.word()
                }
                Some(other) => {
                    return Err(
                        self.error(format!("Invalid property identifier character: {other}."))
                    );
                }
                None => return Err(self.error("Unexpected end when reading JSON.")),
            };
            self.skip_trivia()?;
            if self.peek() != Some(':') {
                return Err(self.error(format!(
                    "Invalid character after parsing property name. Expected ':' but got: {}.",
                    self.peek().map(String::from).unwrap_or_default()
                )));
            }
            self.bump();
            self.skip_trivia()?;
            if properties.iter().any(|(existing, _)| *existing == key) {
                return Err(self.error(format!(
                    "Can not add property {key} to Newtonsoft.Json.Linq.JObject. Property with the same name already exists on object."
                )));
            }
            self.path.push(PathPart::Property(key.clone()));
            let node = self.value(depth + 1)?;
            self.path.pop();
            properties.push((key, node));
            self.skip_trivia()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some('}') => {}
                None => return Err(self.error("Unexpected end when reading JSON.")),
                Some(other) => {
                    return Err(self.error(format!(
                        "After parsing a value an unexpected character was encountered: {other}."
                    )));
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<NodeKind, JsonSyntaxError> {
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.peek() {
                None => return Err(self.error("Unexpected end when reading JSON.")),
                Some(']') => {
                    self.bump();
                    return Ok(NodeKind::Array(items));
                }
                _ => {}
            }
            self.path.push(PathPart::Index(items.len()));
            let node = self.value(depth + 1)?;
            self.path.pop();
            items.push(node);
            self.skip_trivia()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(']') => {}
                None => return Err(self.error("Unexpected end when reading JSON.")),
                Some(other) => {
                    return Err(self.error(format!(
                        "After parsing a value an unexpected character was encountered: {other}."
                    )));
                }
            }
        }
    }

    fn string(&mut self, quote: char) -> Result<String, JsonSyntaxError> {
        self.bump();
        let mut text = String::new();
        loop {
            let Some(character) = self.bump() else {
                return Err(
                    self.error(format!("Unterminated string. Expected delimiter: {quote}."))
                );
            };
            if character == quote {
                return Ok(text);
            }
            if character != '\\' {
                text.push(character);
                continue;
            }
            let Some(escaped) = self.bump() else {
                return Err(
                    self.error(format!("Unterminated string. Expected delimiter: {quote}."))
                );
            };
            match escaped {
                'b' => text.push('\u{8}'),
                'f' => text.push('\u{c}'),
                'n' => text.push('\n'),
                'r' => text.push('\r'),
                't' => text.push('\t'),
                'u' => {
                    let unit = self.hex4()?;
                    if (0xD800..0xDC00).contains(&unit)
                        && self.peek() == Some('\\')
                        && self.chars.get(self.offset + 1) == Some(&'u')
                    {
                        self.bump();
                        self.bump();
                        let low = self.hex4()?;
                        let combined =
                            0x10000 + ((unit - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF);
                        text.push(char::from_u32(combined).unwrap_or('\u{fffd}'));
                    } else {
                        text.push(char::from_u32(unit).unwrap_or('\u{fffd}'));
                    }
                }
                '"' | '\'' | '\\' | '/' => text.push(escaped),
                other => {
                    return Err(self.error(format!("Bad JSON escape sequence: \\{other}.")));
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonSyntaxError> {
        let mut unit = 0u32;
        for _ in 0..4 {
            let digit = self
                .bump()
                .and_then(|character| character.to_digit(16))
                .ok_or_else(|| self.error("Invalid Unicode escape sequence."))?;
            unit = unit * 16 + digit;
        }
        Ok(unit)
    }

    fn number(&mut self) -> Result<Number, JsonSyntaxError> {
        let mut text = String::new();
        while let Some(character) = self.peek() {
            if character.is_ascii_digit() || matches!(character, '-' | '+' | '.' | 'e' | 'E') {
                text.push(character);
                self.bump();
            } else {
                break;
            }
        }
        if let Ok(integer) = text.parse::<i64>() {
            return Ok(Number::from(integer));
        }
        let looks_numeric = text.chars().any(|character| character.is_ascii_digit());
        match text.parse::<f64>() {
            Ok(float) if looks_numeric => Number::from_f64(float)
                .ok_or_else(|| self.error(format!("Input string '{text}' is not a valid number."))),
            _ => Err(self.error(format!("Input string '{text}' is not a valid number."))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_azure_accepts() {
        let text = "\u{feff}{\n  // a comment\n  \"a\": 'one\ntwo', /* block */\n  b: [1, 2,],\n}";
        let node = parse(text).unwrap();
        assert_eq!(
            node.to_value(),
            serde_json::json!({"a": "one\ntwo", "b": [1, 2]})
        );
        let b = node.property("b").unwrap();
        assert_eq!(b.position, Position { line: 5, column: 6 });
    }

    #[test]
    fn errors_name_path_line_and_position() {
        let error = parse("{\n  \"a\": {\n    \"b\": tru\n  }\n}").unwrap_err();
        assert_eq!(error.path, "a.b");
        assert_eq!(error.position.line, 3);
        assert!(error.to_string().contains("line 3"), "{error}");
        let error = parse("{\"a\": 1} x").unwrap_err();
        assert!(error.reason.starts_with("Additional text"));
        let error = parse("{\"a\": 1, \"a\": 2}").unwrap_err();
        assert!(error.reason.contains("same name"));
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).unwrap_err().reason.contains("MaxDepth"));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_value("-12").unwrap(), serde_json::json!(-12));
        assert_eq!(parse_value("1.5e2").unwrap(), serde_json::json!(150.0));
        assert_eq!(
            parse_value("99999999999999999999").unwrap(),
            serde_json::json!(1e20)
        );
        assert!(parse_value("-").is_err());
    }
}
