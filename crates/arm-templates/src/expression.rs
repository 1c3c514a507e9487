//! The template expression language: detection, tokens and the syntax tree.
//!
//! A JSON string is an expression when it starts with `[`, ends with `]` and does not start with
//! `[[` (which escapes a literal `[`). Inside, an expression is a function call (`name(args)`,
//! user functions as `namespace.name(args)`), a string in single quotes (`''` is a quote), or an
//! integer (optionally negative), followed by any number of `.property` and `[index]` accesses.
//! `true`, `false` and `null` are functions. Errors use Azure's wording
//! (`Unable to parse language expression '…': expected token 'RightParenthesis' and actual 'EndOfData'.`).

use crate::error::{EvalResult, Failure};

/// Longest expression Azure accepts, in characters.
pub const MAX_EXPRESSION_LENGTH: usize = 24_576;
/// Deepest nesting of calls and accesses the parser accepts (far above what templates use).
const MAX_NESTING: usize = 128;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    String(String),
    Integer(i64),
    /// A call; `name` keeps its written case, with the namespace (`sys.parseCidr`) if any.
    Call {
        name: String,
        arguments: Vec<Expression>,
    },
    Property {
        target: Box<Expression>,
        name: String,
    },
    Index {
        target: Box<Expression>,
        index: Box<Expression>,
    },
}

/// What a template string is.
#[derive(Debug, Clone, PartialEq)]
pub enum StringKind<'a> {
    /// Not an expression: the text itself (after removing a `[[` escape).
    Literal(std::borrow::Cow<'a, str>),
    /// The text between the outer brackets.
    Expression(&'a str),
}

/// Classifies a template string as a literal or an expression.
pub fn classify(text: &str) -> StringKind<'_> {
    if text.len() >= 2 && text.starts_with('[') && text.ends_with(']') {
        if text.starts_with("[[") {
            return StringKind::Literal(std::borrow::Cow::Owned(text[1..].to_string()));
        }
        return StringKind::Expression(&text[1..text.len() - 1]);
    }
    StringKind::Literal(std::borrow::Cow::Borrowed(text))
}

/// Whether a template string is an expression.
pub fn is_expression(text: &str) -> bool {
    matches!(classify(text), StringKind::Expression(_))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Identifier(String),
    String(String),
    Integer(i64),
    LeftParenthesis,
    RightParenthesis,
    LeftSquareBracket,
    RightSquareBracket,
    Comma,
    Dot,
    EndOfData,
}

impl Token {
    fn kind(&self) -> &'static str {
        match self {
            Token::Identifier(_) => "Identifier",
            Token::String(_) => "Literal",
            Token::Integer(_) => "Integer",
            Token::LeftParenthesis => "LeftParenthesis",
            Token::RightParenthesis => "RightParenthesis",
            Token::LeftSquareBracket => "LeftSquareBracket",
            Token::RightSquareBracket => "RightSquareBracket",
            Token::Comma => "Comma",
            Token::Dot => "Dot",
            Token::EndOfData => "EndOfData",
        }
    }
}

/// Parses the text between the brackets of an expression string.
pub fn parse(source: &str) -> Result<Expression, String> {
    if source.chars().count() > MAX_EXPRESSION_LENGTH {
        return Err(format!(
            "The template language expression exceeds the limit of '{MAX_EXPRESSION_LENGTH}' characters."
        ));
    }
    let tokens = tokenize(source)?;
    let mut parser = Parser {
        source,
        tokens,
        position: 0,
        depth: 0,
    };
    let expression = parser.expression()?;
    match parser.peek() {
        Token::EndOfData => Ok(expression),
        other => Err(parser.unexpected("EndOfData", other)),
    }
}

/// Parses an expression, as an evaluator failure.
pub(crate) fn parse_for_evaluation(source: &str) -> EvalResult<Expression> {
    parse(source).map_err(Failure::Invalid)
}

fn tokenize(source: &str) -> Result<Vec<Token>, String> {
    let characters: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        match character {
            _ if character.is_whitespace() => index += 1,
            '(' => {
                tokens.push(Token::LeftParenthesis);
                index += 1;
            }
            ')' => {
                tokens.push(Token::RightParenthesis);
                index += 1;
            }
            '[' => {
                tokens.push(Token::LeftSquareBracket);
                index += 1;
            }
            ']' => {
                tokens.push(Token::RightSquareBracket);
                index += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                index += 1;
            }
            '.' => {
                tokens.push(Token::Dot);
                index += 1;
            }
            '\'' => {
                let mut text = String::new();
                index += 1;
                loop {
                    match characters.get(index) {
                        None => {
                            return Err(format!(
                                "Unable to parse language expression '{source}': the string literal is not terminated."
                            ));
                        }
                        Some('\'') if characters.get(index + 1) == Some(&'\'') => {
                            text.push('\'');
                            index += 2;
                        }
                        Some('\'') => {
                            index += 1;
                            break;
                        }
                        Some(other) => {
                            text.push(*other);
                            index += 1;
                        }
                    }
                }
                tokens.push(Token::String(text));
            }
            '-' | '0'..='9' => {
                let start = index;
                index += 1;
                while index < characters.len() && characters[index].is_ascii_digit() {
                    index += 1;
                }
                let text: String = characters[start..index].iter().collect();
                if index < characters.len()
                    && characters[index] == '.'
                    && characters.get(index + 1).is_some_and(char::is_ascii_digit)
                {
                    return Err(format!(
                        "Unable to parse language expression '{source}': floating point literals are not supported; use the 'float' function."
                    ));
                }
                let value = text.parse::<i64>().map_err(|_| {
                    format!(
                        "Unable to parse language expression '{source}': the integer literal '{text}' is not valid."
                    )
                })?;
                tokens.push(Token::Integer(value));
            }
            _ if character.is_alphabetic() || character == '_' || character == '$' => {
                let start = index;
                while index < characters.len()
                    && (characters[index].is_alphanumeric()
                        || characters[index] == '_'
                        || characters[index] == '$')
                {
                    index += 1;
                }
                tokens.push(Token::Identifier(characters[start..index].iter().collect()));
            }
            other => {
                return Err(format!(
                    "The language expression '{source}' is not valid: the string character '{other}' at position '{index}' is not expected."
                ));
            }
        }
    }
    tokens.push(Token::EndOfData);
    Ok(tokens)
}

struct Parser<'a> {
    source: &'a str,
    tokens: Vec<Token>,
    position: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        self.tokens.get(self.position).unwrap_or(&Token::EndOfData)
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if self.position < self.tokens.len() {
            self.position += 1;
        }
        token
    }

    fn unexpected(&self, expected: &str, actual: &Token) -> String {
        format!(
            "Unable to parse language expression '{}': expected token '{expected}' and actual '{}'.",
            self.source,
            actual.kind()
        )
    }

    fn expect(&mut self, expected: Token) -> Result<(), String> {
        let actual = self.advance();
        if actual == expected {
            Ok(())
        } else {
            Err(self.unexpected(expected.kind(), &actual))
        }
    }

    fn expression(&mut self) -> Result<Expression, String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(format!(
                "Unable to parse language expression '{}': the expression is nested more than '{MAX_NESTING}' levels deep.",
                self.source
            ));
        }
        let mut expression = self.primary()?;
        loop {
            match self.peek() {
                Token::Dot => {
                    self.advance();
                    match self.advance() {
                        Token::Identifier(name) => {
                            expression = Expression::Property {
                                target: Box::new(expression),
                                name,
                            };
                        }
                        other => return Err(self.unexpected("Identifier", &other)),
                    }
                }
                Token::LeftSquareBracket => {
                    self.advance();
                    let index = self.expression()?;
                    self.expect(Token::RightSquareBracket)?;
                    expression = Expression::Index {
                        target: Box::new(expression),
                        index: Box::new(index),
                    };
                }
                _ => break,
            }
        }
        self.depth -= 1;
        Ok(expression)
    }

    fn primary(&mut self) -> Result<Expression, String> {
        match self.advance() {
            Token::String(text) => Ok(Expression::String(text)),
            Token::Integer(value) => Ok(Expression::Integer(value)),
            Token::Identifier(first) => {
                let mut name = first;
                if self.peek() == &Token::Dot {
                    self.advance();
                    match self.advance() {
                        Token::Identifier(member) => {
                            name.push('.');
                            name.push_str(&member);
                        }
                        other => return Err(self.unexpected("Identifier", &other)),
                    }
                }
                self.expect(Token::LeftParenthesis)?;
                let mut arguments = Vec::new();
                if self.peek() == &Token::RightParenthesis {
                    self.advance();
                } else {
                    loop {
                        arguments.push(self.expression()?);
                        match self.advance() {
                            Token::Comma => continue,
                            Token::RightParenthesis => break,
                            other => return Err(self.unexpected("RightParenthesis", &other)),
                        }
                    }
                }
                Ok(Expression::Call { name, arguments })
            }
            other => Err(self.unexpected("Identifier", &other)),
        }
    }
}

impl Expression {
    /// Visits every call in the tree (the call itself before its arguments).
    pub fn visit_calls<'a>(&'a self, visitor: &mut dyn FnMut(&'a str, &'a [Expression])) {
        match self {
            Expression::String(_) | Expression::Integer(_) => {}
            Expression::Call { name, arguments } => {
                visitor(name, arguments);
                for argument in arguments {
                    argument.visit_calls(visitor);
                }
            }
            Expression::Property { target, .. } => target.visit_calls(visitor),
            Expression::Index { target, index } => {
                target.visit_calls(visitor);
                index.visit_calls(visitor);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, arguments: Vec<Expression>) -> Expression {
        Expression::Call {
            name: name.to_string(),
            arguments,
        }
    }

    #[test]
    fn classifies_strings() {
        assert_eq!(
            classify("[concat('a')]"),
            StringKind::Expression("concat('a')")
        );
        assert_eq!(
            classify("[[escaped]"),
            StringKind::Literal("[escaped]".into())
        );
        assert_eq!(
            classify("[test] value"),
            StringKind::Literal("[test] value".into())
        );
        assert_eq!(classify("plain"), StringKind::Literal("plain".into()));
        assert_eq!(classify("[]"), StringKind::Expression(""));
    }

    #[test]
    fn parses_calls_accesses_and_literals() {
        let parsed = parse(" reference('x', '2020-01-01').outputs['a'].value[-1]").unwrap();
        let expected = Expression::Index {
            target: Box::new(Expression::Property {
                target: Box::new(Expression::Index {
                    target: Box::new(Expression::Property {
                        target: Box::new(call(
                            "reference",
                            vec![
                                Expression::String("x".into()),
                                Expression::String("2020-01-01".into()),
                            ],
                        )),
                        name: "outputs".into(),
                    }),
                    index: Box::new(Expression::String("a".into())),
                }),
                name: "value".into(),
            }),
            index: Box::new(Expression::Integer(-1)),
        };
        assert_eq!(parsed, expected);
        assert_eq!(
            parse("concat('it''s')").unwrap(),
            call("concat", vec![Expression::String("it's".into())])
        );
        assert_eq!(
            parse("sys.parseCidr('10.0.0.0/8')").unwrap(),
            call(
                "sys.parseCidr",
                vec![Expression::String("10.0.0.0/8".into())]
            )
        );
    }

    #[test]
    fn errors_use_azure_wording() {
        assert_eq!(
            parse("concat('ai-', uniqueString(resourceGroup().id)").unwrap_err(),
            "Unable to parse language expression 'concat('ai-', uniqueString(resourceGroup().id)': expected token 'RightParenthesis' and actual 'EndOfData'."
        );
        assert!(
            parse("")
                .unwrap_err()
                .contains("expected token 'Identifier' and actual 'EndOfData'")
        );
        assert!(parse("a() b()").is_err());
        assert!(parse("'open").is_err());
        assert!(parse("1.5").is_err());
        assert!(parse(&"f(".repeat(500)).is_err());
    }
}
