//! `[xml]` values: an element tree navigated the way PowerShell's XML adapter does
//! (`$doc.defaults.VoiceRoute.AU.National.NumberPattern`).

use std::rc::Rc;

use super::eval::Value;

#[derive(Debug, Clone)]
pub(crate) struct XmlNode {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Rc<XmlNode>>,
    text: String,
}

/// The document node, whose one child is the root element.
pub(crate) fn parse(text: &str) -> Result<XmlNode, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| e.to_string())?;
    let root = convert(doc.root_element());
    Ok(XmlNode {
        name: "#document".into(),
        attrs: Vec::new(),
        children: vec![Rc::new(root)],
        text: String::new(),
    })
}

fn convert(n: roxmltree::Node<'_, '_>) -> XmlNode {
    XmlNode {
        name: n.tag_name().name().to_owned(),
        attrs: n.attributes().map(|a| (a.name().to_owned(), a.value().to_owned())).collect(),
        children: n.children().filter(|c| c.is_element()).map(|c| Rc::new(convert(c))).collect(),
        text: n.children().filter(|c| c.is_text()).filter_map(|c| c.text()).collect::<String>(),
    }
}

impl XmlNode {
    pub fn inner_text(&self) -> String {
        let mut s = self.text.trim().to_owned();
        for c in &self.children {
            s.push_str(&c.inner_text());
        }
        s
    }

    fn as_value(node: &Rc<XmlNode>) -> Value {
        // A leaf element with only text reads as its text.
        if node.attrs.is_empty() && node.children.is_empty() {
            Value::Str(node.text.clone())
        } else {
            Value::Xml(node.clone())
        }
    }

    /// An attribute, or the child elements of that name (one: the element; several: a list).
    pub fn member(&self, name: &str) -> Value {
        if let Some((_, v)) = self.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            return Value::Str(v.clone());
        }
        let matches: Vec<&Rc<XmlNode>> =
            self.children.iter().filter(|c| c.name.eq_ignore_ascii_case(name)).collect();
        match matches.as_slice() {
            [] => Value::Null,
            [one] => XmlNode::as_value(one),
            many => Value::List(many.iter().map(|n| XmlNode::as_value(n)).collect()),
        }
    }
}
