//! XML text: `executeXPath(path)` and `toXmlList()`. A small, lenient XML reader and the
//! XPath subset real scripts use: absolute steps (`/a/b`), descendants (`//b`), `*`,
//! `text()`, `@attribute`, `node()`, and predicates `[n]`, `[last()]`, `[@a]`,
//! `[@a='v']`, `[child='v']`. Matched elements come back as XML text, text nodes and
//! attributes as their text; several matches are joined.

use super::arguments::Call;
use super::text::{xml_decode, xml_encode};
use super::{BuiltinError, BuiltinErrorKind};
use crate::value::Value;

const MAX_XML_DEPTH: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Element {
        name: String,
        attributes: Vec<(String, String)>,
        children: Vec<Node>,
    },
    Text(String),
}

/// `xml.executeXPath(path)`.
pub(crate) fn execute_xpath(call: &mut Call<'_>, text: &str) -> Result<Value, BuiltinError> {
    call.count(1, 1)?;
    let path = call.text(0)?;
    let nodes = parse_fragment(text).map_err(|problem| invalid_xml(&problem))?;
    let steps = parse_path(&path).ok_or_else(|| {
        BuiltinError::new(
            BuiltinErrorKind::InvalidPattern,
            format!("executeXPath: \"{path}\" is not an XPath this runtime supports"),
        )
    })?;
    let root = Node::Element {
        name: String::new(),
        attributes: Vec::new(),
        children: nodes,
    };
    let mut output = String::new();
    for item in evaluate(&root, &steps) {
        match item {
            Item::Node(Node::Text(text)) => output.push_str(text),
            Item::Node(element) => serialize(element, &mut output),
            Item::Value(value) => output.push_str(&value),
        }
        call.heap.check_text_length(output.len())?;
    }
    Ok(Value::text(output))
}

/// `xml.toXmlList()`: the top-level elements of an XML fragment, each as XML text.
pub(crate) fn to_xml_list(call: &mut Call<'_>, text: &str) -> Result<Value, BuiltinError> {
    call.count(0, 0)?;
    let nodes = parse_fragment(text).map_err(|problem| invalid_xml(&problem))?;
    let elements: Vec<Value> = nodes
        .iter()
        .filter(|node| matches!(node, Node::Element { .. }))
        .map(|node| {
            let mut output = String::new();
            serialize(node, &mut output);
            Value::text(output)
        })
        .collect();
    let list = call.heap.new_list_value(elements);
    call.heap.check_size()?;
    Ok(list)
}

fn invalid_xml(problem: &str) -> BuiltinError {
    BuiltinError::new(
        BuiltinErrorKind::InvalidArgument,
        format!("Invalid XML text: {problem}"),
    )
}

fn serialize(node: &Node, output: &mut String) {
    match node {
        Node::Text(text) => output.push_str(&xml_encode(text)),
        Node::Element {
            name,
            attributes,
            children,
        } => {
            output.push('<');
            output.push_str(name);
            for (key, value) in attributes {
                output.push(' ');
                output.push_str(key);
                output.push_str("=\"");
                output.push_str(&xml_encode(value));
                output.push('"');
            }
            if children.is_empty() {
                output.push_str("/>");
                return;
            }
            output.push('>');
            for child in children {
                serialize(child, output);
            }
            output.push_str("</");
            output.push_str(name);
            output.push('>');
        }
    }
}

struct Reader<'text> {
    text: &'text str,
    position: usize,
}

fn parse_fragment(text: &str) -> Result<Vec<Node>, String> {
    let mut reader = Reader { text, position: 0 };
    let nodes = reader.content(None, 0)?;
    Ok(nodes)
}

impl<'text> Reader<'text> {
    fn rest(&self) -> &'text str {
        self.text.get(self.position..).unwrap_or("")
    }

    fn skip_past(&mut self, terminator: &str) -> Result<String, String> {
        match self.rest().find(terminator) {
            Some(offset) => {
                let skipped = self.rest()[..offset].to_owned();
                self.position += offset + terminator.len();
                Ok(skipped)
            }
            None => Err(format!("'{terminator}' is missing")),
        }
    }

    /// Nodes until the closing tag of `parent` (or the end of the text at the top).
    fn content(&mut self, parent: Option<&str>, depth: usize) -> Result<Vec<Node>, String> {
        if depth > MAX_XML_DEPTH {
            return Err("elements are nested too deeply".to_owned());
        }
        let mut nodes = Vec::new();
        loop {
            let rest = self.rest();
            if rest.is_empty() {
                return match parent {
                    None => Ok(nodes),
                    Some(name) => Err(format!("the element <{name}> is not closed")),
                };
            }
            if let Some(after) = rest.strip_prefix("</") {
                let end = after.find('>').ok_or("a closing tag is not finished")?;
                let name = after[..end].trim().to_owned();
                self.position += 2 + end + 1;
                return match parent {
                    Some(expected) if expected == name => Ok(nodes),
                    Some(expected) => {
                        Err(format!("found </{name}> where </{expected}> was expected"))
                    }
                    None => Err(format!("found </{name}> without a matching opening tag")),
                };
            }
            if rest.starts_with("<!--") {
                self.position += 4;
                self.skip_past("-->")?;
            } else if rest.starts_with("<![CDATA[") {
                self.position += 9;
                let data = self.skip_past("]]>")?;
                nodes.push(Node::Text(data));
            } else if rest.starts_with("<?") || rest.starts_with("<!") {
                self.position += 2;
                self.skip_past(">")?;
            } else if rest.starts_with('<') {
                nodes.push(self.element(depth)?);
            } else {
                let end = rest.find('<').unwrap_or(rest.len());
                let text = xml_decode(&rest[..end]);
                self.position += end;
                if !text.trim().is_empty() || parent.is_some() {
                    nodes.push(Node::Text(text));
                }
            }
        }
    }

    fn element(&mut self, depth: usize) -> Result<Node, String> {
        self.position += 1;
        let rest = self.rest();
        let name_length = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .ok_or("a tag is not finished")?;
        let name = rest[..name_length].to_owned();
        if name.is_empty() {
            return Err("a tag has no name".to_owned());
        }
        self.position += name_length;
        let mut attributes = Vec::new();
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.position += rest.len() - trimmed.len();
            if trimmed.starts_with("/>") {
                self.position += 2;
                return Ok(Node::Element {
                    name,
                    attributes,
                    children: Vec::new(),
                });
            }
            if trimmed.starts_with('>') {
                self.position += 1;
                let children = self.content(Some(&name), depth + 1)?;
                return Ok(Node::Element {
                    name,
                    attributes,
                    children,
                });
            }
            if trimmed.is_empty() {
                return Err(format!("the tag <{name}> is not finished"));
            }
            let equals = trimmed
                .find('=')
                .ok_or_else(|| format!("an attribute of <{name}> has no value"))?;
            let key = trimmed[..equals].trim().to_owned();
            self.position += equals + 1;
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.position += rest.len() - trimmed.len();
            let quote = trimmed
                .chars()
                .next()
                .filter(|c| *c == '"' || *c == '\'')
                .ok_or_else(|| format!("the attribute {key} of <{name}> is not quoted"))?;
            self.position += 1;
            let value = self.skip_past(&quote.to_string())?;
            attributes.push((key, xml_decode(&value)));
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Test {
    Name(String),
    AnyElement,
    Text,
    AnyNode,
    Attribute(String),
    AnyAttribute,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Predicate {
    Position(usize),
    Last,
    HasAttribute(String),
    AttributeEquals(String, String),
    ChildEquals(String, String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    descendants: bool,
    test: Test,
    predicates: Vec<Predicate>,
}

fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = path.trim();
    let mut descendants = false;
    if let Some(after) = rest.strip_prefix("//") {
        descendants = true;
        rest = after;
    } else if let Some(after) = rest.strip_prefix('/') {
        rest = after;
    }
    while !rest.is_empty() {
        // A step ends at the next '/' outside brackets.
        let mut bracket_depth = 0usize;
        let mut end = rest.len();
        for (index, character) in rest.char_indices() {
            match character {
                '[' => bracket_depth += 1,
                ']' => bracket_depth = bracket_depth.saturating_sub(1),
                '/' if bracket_depth == 0 => {
                    end = index;
                    break;
                }
                _ => {}
            }
        }
        let step_text = &rest[..end];
        steps.push(parse_step(step_text, descendants)?);
        rest = &rest[end..];
        descendants = false;
        if let Some(after) = rest.strip_prefix("//") {
            descendants = true;
            rest = after;
        } else if let Some(after) = rest.strip_prefix('/') {
            rest = after;
        }
    }
    if steps.is_empty() { None } else { Some(steps) }
}

fn parse_step(text: &str, descendants: bool) -> Option<Step> {
    let (head, mut predicate_text) = match text.find('[') {
        Some(index) => (&text[..index], &text[index..]),
        None => (text, ""),
    };
    let head = head.trim();
    let test = match head {
        "*" => Test::AnyElement,
        "text()" => Test::Text,
        "node()" => Test::AnyNode,
        "@*" => Test::AnyAttribute,
        _ if head.starts_with('@') => Test::Attribute(head[1..].to_owned()),
        _ if !head.is_empty()
            && head
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ':' | '.')) =>
        {
            Test::Name(head.to_owned())
        }
        _ => return None,
    };
    let mut predicates = Vec::new();
    while let Some(after) = predicate_text.strip_prefix('[') {
        let end = after.find(']')?;
        predicates.push(parse_predicate(after[..end].trim())?);
        predicate_text = &after[end + 1..];
    }
    if !predicate_text.trim().is_empty() {
        return None;
    }
    Some(Step {
        descendants,
        test,
        predicates,
    })
}

fn parse_predicate(text: &str) -> Option<Predicate> {
    if text == "last()" {
        return Some(Predicate::Last);
    }
    if let Ok(position) = text.parse::<usize>() {
        return Some(Predicate::Position(position));
    }
    if let Some((left, right)) = text.split_once('=') {
        let value = right
            .trim()
            .trim_matches(|c| c == '\'' || c == '"')
            .to_owned();
        let left = left.trim();
        return Some(match left.strip_prefix('@') {
            Some(attribute) => Predicate::AttributeEquals(attribute.to_owned(), value),
            None => Predicate::ChildEquals(left.to_owned(), value),
        });
    }
    text.strip_prefix('@')
        .map(|attribute| Predicate::HasAttribute(attribute.to_owned()))
}

enum Item<'tree> {
    Node(&'tree Node),
    Value(String),
}

fn text_content(node: &Node, output: &mut String) {
    match node {
        Node::Text(text) => output.push_str(text),
        Node::Element { children, .. } => {
            for child in children {
                text_content(child, output);
            }
        }
    }
}

fn descendants_or_self<'tree>(node: &'tree Node, output: &mut Vec<&'tree Node>) {
    output.push(node);
    if let Node::Element { children, .. } = node {
        for child in children {
            descendants_or_self(child, output);
        }
    }
}

fn evaluate<'tree>(root: &'tree Node, steps: &[Step]) -> Vec<Item<'tree>> {
    let mut context: Vec<&'tree Node> = vec![root];
    let mut values = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        let is_last = index + 1 == steps.len();
        let mut next: Vec<&'tree Node> = Vec::new();
        for node in &context {
            let mut bases = Vec::new();
            if step.descendants {
                descendants_or_self(node, &mut bases);
            } else {
                bases.push(node);
            }
            for base in bases {
                let Node::Element {
                    children,
                    attributes,
                    ..
                } = base
                else {
                    continue;
                };
                match &step.test {
                    Test::Attribute(name) => {
                        if is_last {
                            values.extend(
                                attributes
                                    .iter()
                                    .filter(|(key, _)| key == name)
                                    .map(|(_, value)| value.clone()),
                            );
                        }
                    }
                    Test::AnyAttribute => {
                        if is_last {
                            values.extend(attributes.iter().map(|(_, value)| value.clone()));
                        }
                    }
                    test => {
                        let matched: Vec<&'tree Node> = children
                            .iter()
                            .filter(|child| matches_test(child, test))
                            .collect();
                        next.extend(apply_predicates(matched, &step.predicates));
                    }
                }
            }
        }
        context = next;
    }
    if !values.is_empty() {
        return values.into_iter().map(Item::Value).collect();
    }
    context.into_iter().map(Item::Node).collect()
}

fn matches_test(node: &Node, test: &Test) -> bool {
    match (node, test) {
        (Node::Element { name, .. }, Test::Name(wanted)) => name == wanted,
        (Node::Element { .. }, Test::AnyElement) => true,
        (Node::Text(_), Test::Text) => true,
        (_, Test::AnyNode) => true,
        _ => false,
    }
}

fn apply_predicates<'tree>(
    mut nodes: Vec<&'tree Node>,
    predicates: &[Predicate],
) -> Vec<&'tree Node> {
    for predicate in predicates {
        nodes = match predicate {
            Predicate::Position(position) => position
                .checked_sub(1)
                .and_then(|index| nodes.get(index).copied())
                .into_iter()
                .collect(),
            Predicate::Last => nodes.last().copied().into_iter().collect(),
            Predicate::HasAttribute(wanted) => nodes
                .into_iter()
                .filter(|node| attribute(node, wanted).is_some())
                .collect(),
            Predicate::AttributeEquals(wanted, value) => nodes
                .into_iter()
                .filter(|node| attribute(node, wanted) == Some(value.as_str()))
                .collect(),
            Predicate::ChildEquals(child_name, value) => nodes
                .into_iter()
                .filter(|node| child_has_text(node, child_name, value))
                .collect(),
        };
    }
    nodes
}

fn attribute<'tree>(node: &'tree Node, wanted: &str) -> Option<&'tree str> {
    match node {
        Node::Element { attributes, .. } => attributes
            .iter()
            .find(|(key, _)| key == wanted)
            .map(|(_, value)| value.as_str()),
        Node::Text(_) => None,
    }
}

fn child_has_text(node: &Node, child_name: &str, value: &str) -> bool {
    let Node::Element { children, .. } = node else {
        return false;
    };
    children.iter().any(|child| match child {
        Node::Element { name, .. } if name == child_name => {
            let mut text = String::new();
            text_content(child, &mut text);
            text == value
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtins::call_method;
    use crate::value::Heap;

    const USERS: &str = r#"<?xml version="1.0"?>
<users><user id="7" email="a@example.com"><name>Ann &amp; Co</name></user><user id="9"><name>Bob</name></user></users>"#;

    fn xpath(path: &str) -> Result<String, BuiltinError> {
        let mut heap = Heap::new();
        let result = call_method(
            &mut heap,
            &Value::text(USERS),
            "executexpath",
            &[Value::text(path)],
        )?;
        Ok(heap.display(&result))
    }

    #[test]
    fn evaluates_the_xpath_subset_scripts_use() {
        let cases = [
            ("/users/user/@email", "a@example.com"),
            ("/users/user[1]/@id", "7"),
            ("/users/user[last()]/name/text()", "Bob"),
            ("/users/user/name/text()", "Ann & CoBob"),
            ("//name[1]/text()", "Ann & CoBob"),
            ("/users/user[@id='9']/name", "<name>Bob</name>"),
            ("/users/user[name='Bob']/@id", "9"),
            ("/users/user[2]", "<user id=\"9\"><name>Bob</name></user>"),
            ("/users/missing", ""),
            ("//user/@*", "7a@example.com9"),
        ];
        for (path, expected) in cases {
            assert_eq!(xpath(path).unwrap(), expected, "{path}");
        }
        assert_eq!(
            xpath("/users/user[").unwrap_err().code(),
            "DELUGE_INVALID_PATTERN"
        );
    }

    #[test]
    fn reports_broken_xml() {
        let mut heap = Heap::new();
        let error = call_method(
            &mut heap,
            &Value::text("<a><b></a>"),
            "executexpath",
            &[Value::text("/a")],
        )
        .unwrap_err();
        assert_eq!(error.code(), "DELUGE_INVALID_ARGUMENT");
        assert!(error.message().contains("</b>"), "{}", error.message());
    }

    #[test]
    fn splits_a_fragment_into_an_xml_list() {
        let mut heap = Heap::new();
        let list = call_method(
            &mut heap,
            &Value::text("<item>1</item><item><![CDATA[a<b]]></item>"),
            "toxmllist",
            &[],
        )
        .unwrap();
        assert_eq!(
            heap.to_json_text(&list).unwrap(),
            r#"["<item>1</item>","<item>a&lt;b</item>"]"#
        );
    }
}
