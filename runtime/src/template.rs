//! Route templates as the macro emits them: a path pattern split into
//! [`Segment`]s, and a room template (`broadcast = "chat:{room}"`) split into
//! [`TemplatePart`]s. Pure data, at the bottom of the crate: the router, the
//! connection engine and the route table all read it.

/// One `/`-separated piece of a path pattern.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// A segment that must match exactly.
    Static(&'static str),
    /// A `{param}` segment, matching any one non-empty segment.
    Param,
}

/// A piece of a room template such as `chat:{room}`.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplatePart {
    /// Literal text.
    Lit(&'static str),
    /// The value of the path parameter at this index.
    Param(usize),
}

/// Renders a room template with a connection's path parameter values.
pub(crate) fn render_template(parts: &[TemplatePart], params: &[Box<str>]) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            TemplatePart::Lit(s) => out.push_str(s),
            TemplatePart::Param(i) => out.push_str(params.get(*i).map_or("", |p| p)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_params_in_place() {
        let parts = [TemplatePart::Lit("chat:"), TemplatePart::Param(1), TemplatePart::Lit("!")];
        let params: Vec<Box<str>> = vec!["x".into(), "lobby".into()];
        assert_eq!(render_template(&parts, &params), "chat:lobby!");
        assert_eq!(render_template(&[TemplatePart::Lit("lobby")], &[]), "lobby");
    }
}
