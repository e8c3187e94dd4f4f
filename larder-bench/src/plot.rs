//! SVG line charts for the report, drawn with plotters' SVG backend (no font or bitmap stack:
//! text goes into the SVG as `<text>` and the viewer's sans-serif font draws it).
//!
//! A scenario builds a [`Chart`] (one line per cache), renders it to a string with
//! [`Chart::to_svg`], and hands it to its [`Section`](crate::report::Section) with
//! [`Section::plot`](crate::report::Section::plot), which embeds it in the markdown and has
//! `--write` save it in `plots/` beside the document.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

use crate::peers::Kind;

/// How a series' line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// larder's caches.
    Solid,
    /// The peers.
    Dashed,
    /// A bound (Bélády's OPT): black and thicker.
    Bound,
}

/// One line of a chart.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// The legend's label.
    pub(crate) name: String,
    /// `(x, y)` points, in x order; points with a non-finite y are left out.
    pub(crate) points: Vec<(f64, f64)>,
    /// Index into the colour palette (ignored for [`Line::Bound`]).
    pub(crate) color: usize,
    pub(crate) line: Line,
}

/// A line chart: one [`Series`] per cache.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    pub(crate) title: String,
    pub(crate) x_label: String,
    pub(crate) y_label: String,
    /// Tick marks on the x axis (the measured x values); the axis spans them.
    pub(crate) x_ticks: Vec<f64>,
    /// A logarithmic x axis (for sizes that span a decade or more).
    pub(crate) log_x: bool,
    /// The y axis starts at zero (throughput) instead of just below the lowest point.
    pub(crate) y_from_zero: bool,
    pub(crate) series: Vec<Series>,
}

/// Tableau's ten colours: distinguishable, and readable on white.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

const WIDTH: u32 = 860;
const HEIGHT: u32 = 420;
/// The legend's column on the right.
const LEGEND: u32 = 190;

impl Series {
    /// `kind`'s line: its table name, a colour it keeps across charts, solid for larder's
    /// caches and dashed for the peers.
    pub(crate) fn of(kind: Kind, points: Vec<(f64, f64)>) -> Self {
        let color = Kind::LARDER_ALL
            .iter()
            .chain(&Kind::PEERS)
            .position(|&k| k == kind)
            .unwrap_or(PALETTE.len() - 1);
        Self {
            name: kind.name().to_string(),
            points,
            color,
            line: if matches!(kind, Kind::Larder(_)) {
                Line::Solid
            } else {
                Line::Dashed
            },
        }
    }

    fn style(&self) -> ShapeStyle {
        match self.line {
            Line::Bound => BLACK.stroke_width(3),
            _ => PALETTE[self.color % PALETTE.len()].stroke_width(2),
        }
    }

    fn finite(&self) -> impl Iterator<Item = (f64, f64)> + Clone + '_ {
        self.points
            .iter()
            .copied()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
    }
}

impl Chart {
    /// The chart as an SVG document.
    pub(crate) fn to_svg(&self) -> Result<String, String> {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let (plot, legend) = root.split_horizontally(WIDTH - LEGEND);
            let (lo, hi) = self.x_span();
            let y = self.y_span();
            // plotters formats only some axes by default: a log axis of f64, and integers (a
            // linear f64 axis with chosen ticks has no formatter), so a linear x axis is in
            // whole units, as the x values (cache sizes, threads) are.
            if self.log_x {
                let x = (lo..hi).log_scale().with_key_points(self.x_ticks.clone());
                self.draw(&plot, x, y, |v| v, |v| *v)?;
            } else {
                let ticks = self.x_ticks.iter().map(|&t| t.round() as i64).collect();
                let x = (lo.floor() as i64..hi.ceil() as i64).with_key_points(ticks);
                self.draw(&plot, x, y, |v| v.round() as i64, |v| *v as f64)?;
            }
            self.draw_legend(&legend)?;
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(svg)
    }

    /// The x range: the ticks and points, with a margin (a factor on a log axis).
    fn x_span(&self) -> (f64, f64) {
        let xs = self
            .x_ticks
            .iter()
            .copied()
            .chain(self.series.iter().flat_map(|s| s.finite().map(|p| p.0)));
        let (lo, hi) = min_max(xs).unwrap_or((0.0, 1.0));
        if self.log_x && lo > 0.0 {
            (lo / 1.15, hi * 1.15)
        } else {
            let pad = ((hi - lo) * 0.05).max(0.5);
            (lo - pad, hi + pad)
        }
    }

    /// The y range: 0 or just below the lowest point, to just above the highest.
    fn y_span(&self) -> Range<f64> {
        let ys = self.series.iter().flat_map(|s| s.finite().map(|p| p.1));
        let (lo, hi) = min_max(ys).unwrap_or((0.0, 1.0));
        let pad = ((hi - lo) * 0.06).max(1e-3);
        let lo = if self.y_from_zero || lo - pad < 0.0 {
            0.0
        } else {
            lo - pad
        };
        lo..hi + pad
    }

    /// Draws the axes and lines on `x` (whose values are `V`; `to_v` and `from_v` convert).
    fn draw<X, V>(
        &self,
        area: &DrawingArea<SVGBackend<'_>, Shift>,
        x: X,
        y: Range<f64>,
        to_v: impl Fn(f64) -> V + Copy,
        from_v: impl Fn(&V) -> f64,
    ) -> Result<(), String>
    where
        X: Ranged<ValueType = V> + ValueFormatter<V>,
        V: Clone + 'static,
    {
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(x, y)
            .map_err(err)?;
        let x_format = |v: &V| crate::report::thousands(from_v(v).round().max(0.0) as u64);
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_label_formatter(&x_format)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        // Bounds first, underneath: a cache that reaches OPT stays visible on top of it.
        let bounds_first = self
            .series
            .iter()
            .filter(|s| s.line == Line::Bound)
            .chain(self.series.iter().filter(|s| s.line != Line::Bound));
        for s in bounds_first {
            let style = s.style();
            let points = s.finite().map(move |(x, y)| (to_v(x), y));
            match s.line {
                Line::Dashed => {
                    chart
                        .draw_series(DashedLineSeries::new(points.clone(), 7, 4, style))
                        .map_err(err)?;
                }
                Line::Solid | Line::Bound => {
                    chart
                        .draw_series(LineSeries::new(points.clone(), style))
                        .map_err(err)?;
                }
            }
            chart
                .draw_series(points.map(|p| Circle::new(p, 3, style.color.filled())))
                .map_err(err)?;
        }
        Ok(())
    }

    /// The legend: a sample of each line and its name, one per row.
    fn draw_legend(&self, area: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<_>| e.to_string();
        for (i, s) in self.series.iter().enumerate() {
            let y = 50 + 22 * i as i32;
            let style = s.style();
            let segments: Vec<(i32, i32)> = if s.line == Line::Dashed {
                vec![(4, 11), (15, 22), (26, 30)]
            } else {
                vec![(4, 30)]
            };
            for (a, b) in segments {
                area.draw(&PathElement::new(vec![(a, y), (b, y)], style))
                    .map_err(err)?;
            }
            area.draw(&Text::new(
                s.name.clone(),
                (36, y - 7),
                ("sans-serif", 14).into_font(),
            ))
            .map_err(err)?;
        }
        Ok(())
    }
}

fn min_max(xs: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    xs.fold(None, |acc, x| match acc {
        None => Some((x, x)),
        Some((lo, hi)) => Some((lo.min(x), hi.max(x))),
    })
}

/// `name` as a file name: letters, digits, `-` and `.` kept, anything else `-`.
pub(crate) fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(log_x: bool) -> Chart {
        Chart {
            title: "lirs-cpp: hit ratio".into(),
            x_label: "cache size (entries)".into(),
            y_label: "hit ratio".into(),
            x_ticks: vec![128.0, 256.0, 512.0, 1_280.0],
            log_x,
            y_from_zero: false,
            series: vec![
                Series {
                    name: "larder S3-FIFO".into(),
                    points: vec![(128.0, 0.2), (256.0, 0.4), (512.0, 0.5), (1_280.0, 0.6)],
                    color: 0,
                    line: Line::Solid,
                },
                Series {
                    name: "quick_cache".into(),
                    points: vec![(128.0, 0.1), (256.0, f64::NAN), (1_280.0, 0.55)],
                    color: 1,
                    line: Line::Dashed,
                },
                Series {
                    name: "OPT".into(),
                    points: vec![(128.0, 0.3), (256.0, 0.5), (512.0, 0.6), (1_280.0, 0.7)],
                    color: 0,
                    line: Line::Bound,
                },
            ],
        }
    }

    #[test]
    fn svg_has_every_series_title_and_tick() {
        for log_x in [false, true] {
            let svg = chart(log_x).to_svg().unwrap();
            assert!(
                svg.starts_with("<svg"),
                "{log_x}: {}",
                &svg[..40.min(svg.len())]
            );
            assert!(svg.trim_end().ends_with("</svg>"));
            for text in [
                "larder S3-FIFO",
                "quick_cache",
                "OPT",
                "lirs-cpp: hit ratio",
                "cache size (entries)",
                "1,280",
            ] {
                assert!(svg.contains(text), "log_x {log_x}: no {text:?} in the SVG");
            }
            // One polyline per series, or dashes for the dashed one.
            assert!(svg.matches("<polyline").count() >= 2);
        }
    }

    #[test]
    fn svg_of_an_empty_chart_renders() {
        let mut c = chart(true);
        c.series.clear();
        assert!(c.to_svg().unwrap().contains("</svg>"));
    }

    #[test]
    fn file_names_are_plain() {
        assert_eq!(file_name("Zipf 0.99 get/insert"), "Zipf-0.99-get-insert");
        assert_eq!(file_name("cache2k-web07"), "cache2k-web07");
    }
}
