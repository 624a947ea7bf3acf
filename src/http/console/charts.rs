//! Bar charts drawn on the server as inline SVG, each with its numbers in a
//! table beside it (the table is the accessible form: the chart is a picture
//! of it). No script: the SVG is plain markup with a `<title>` and `<desc>`
//! that name it (`role="img"`, `aria-labelledby`), dark text on white and
//! bars in one blue with a 5:1 contrast against the page, each bar labelled
//! with its number so colour carries nothing.
//!
//! A count withheld by disclosure control (`null`) draws no bar and says
//! "withheld"; a zero draws no bar and says 0.

use maud::{html, Markup};

/// One bar: its label, its count (`None`: withheld), and where the count is
/// in the report's JSON (a JSON pointer, e.g. `/outcome/resolved/slg`), so a
/// reader (and the tests) can match each cell to the API's figures.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: Option<u64>,
    pub pointer: String,
}

/// A chart's words.
#[derive(Debug, Clone, Copy)]
pub struct Chart<'a> {
    /// For element ids: letters, digits and `-` only.
    pub id: &'a str,
    pub title: &'a str,
    /// What the chart shows, in a sentence (the SVG's `<desc>`).
    pub desc: &'a str,
    /// The table's first column heading.
    pub what: &'a str,
}

const WIDTH: u64 = 560;
const BAR_MAX: u64 = 440;
const ROW: u64 = 44;
/// Bars: a blue with 5.2:1 contrast on white (WCAG 1.4.11 asks 3:1).
const BAR_FILL: &str = "#1d5f9a";
const TEXT_FILL: &str = "#0b0c0c";

fn words(v: Option<u64>) -> String {
    match v {
        Some(n) => n.to_string(),
        None => "withheld".into(),
    }
}

/// The SVG of `bars` (at least one).
fn svg(c: &Chart, bars: &[Bar]) -> Markup {
    let max = bars
        .iter()
        .filter_map(|b| b.value)
        .max()
        .unwrap_or(0)
        .max(1);
    let height = ROW * bars.len() as u64 + 8;
    let title_id = format!("{}-title", c.id);
    let desc_id = format!("{}-desc", c.id);
    html! {
        svg.el-chart xmlns="http://www.w3.org/2000/svg" version="1.1"
            viewBox={ "0 0 " (WIDTH) " " (height) } width="100%"
            role="img" aria-labelledby={ (title_id) " " (desc_id) } focusable="false" {
            title id=(title_id) { (c.title) }
            desc id=(desc_id) { (c.desc) }
            @for (i, b) in bars.iter().enumerate() {
                @let y = ROW * i as u64;
                @let len = b.value.map_or(0, |v| v * BAR_MAX / max);
                g {
                    text x="0" y=(y + 15) font-size="14" fill=(TEXT_FILL) { (b.label) }
                    @if len > 0 {
                        rect x="0" y=(y + 21) width=(len) height="16" fill=(BAR_FILL) {}
                    }
                    text x=(len + 6) y=(y + 34) font-size="14" font-weight="bold" fill=(TEXT_FILL) { (words(b.value)) }
                }
            }
        }
    }
}

/// A chart of `bars` with its table beside it, or a line saying there is
/// nothing to draw.
pub fn bar_chart(c: &Chart, bars: &[Bar]) -> Markup {
    html! {
        section.el-chart-block aria-labelledby={ (c.id) "-heading" } {
            h3.el-heading-s id={ (c.id) "-heading" } { (c.title) }
            @if bars.is_empty() {
                p.el-body { "None in this period." }
            } @else {
                div.el-chart-row {
                    div.el-chart-figure { (svg(c, bars)) }
                    div.el-chart-table {
                        table.el-table id={ (c.id) "-table" } {
                            caption.el-visually-hidden { (c.title) ": the numbers" }
                            thead { tr { th scope="col" { (c.what) } th.el-num scope="col" { "Number" } } }
                            tbody {
                                @for b in bars {
                                    tr {
                                        th scope="row" { (b.label) }
                                        td.el-num data-pointer=(b.pointer) { (words(b.value)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars() -> Vec<Bar> {
        vec![
            Bar {
                label: "Agencies & partners".into(),
                value: Some(4),
                pointer: "/by_entry_rung/agencies".into(),
            },
            Bar {
                label: "SLG".into(),
                value: Some(2),
                pointer: "/by_entry_rung/slg".into(),
            },
            Bar {
                label: "Chief officers".into(),
                value: None,
                pointer: "/by_entry_rung/chief_officers".into(),
            },
        ]
    }

    const C: Chart = Chart {
        id: "entry",
        title: "Raised, by rung",
        desc: "How many disputes entered each rung.",
        what: "Rung",
    };

    #[test]
    fn the_svg_is_xml_with_a_title_and_bars_in_proportion() {
        let out = svg(&C, &bars()).into_string();
        let doc = roxmltree::Document::parse(&out).expect("well-formed XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(root.attribute("role"), Some("img"));
        let title = root
            .children()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text());
        assert_eq!(title, Some("Raised, by rung"));
        let widths: Vec<u64> = root
            .descendants()
            .filter(|n| n.has_tag_name("rect"))
            .filter_map(|n| n.attribute("width")?.parse().ok())
            .collect();
        // The largest is the full length, the other in proportion; the withheld draws none.
        assert_eq!(widths, vec![BAR_MAX, BAR_MAX / 2]);
        let texts: Vec<&str> = root
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .collect();
        assert!(texts.contains(&"Agencies & partners"), "{texts:?}");
        assert!(texts.contains(&"withheld"), "{texts:?}");
        assert!(!out.contains("<script"));
    }

    #[test]
    fn the_table_holds_each_number_under_its_pointer() {
        let out = bar_chart(&C, &bars()).into_string();
        let doc = roxmltree::Document::parse(&out).expect("well-formed XML");
        let cells: Vec<(&str, &str)> = doc
            .descendants()
            .filter(|n| n.has_tag_name("td"))
            .filter_map(|n| Some((n.attribute("data-pointer")?, n.text()?)))
            .collect();
        assert_eq!(
            cells,
            vec![
                ("/by_entry_rung/agencies", "4"),
                ("/by_entry_rung/slg", "2"),
                ("/by_entry_rung/chief_officers", "withheld"),
            ]
        );
    }

    #[test]
    fn nothing_to_draw_says_so() {
        let out = bar_chart(&C, &[]).into_string();
        assert!(out.contains("None in this period."));
        assert!(!out.contains("<svg"));
    }
}
