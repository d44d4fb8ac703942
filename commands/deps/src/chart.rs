//! Line charts as PNG: plotters draws into an RGB buffer, `png` encodes it.
//!
//! Text uses DejaVu Sans, embedded (free to redistribute; see `assets/DejaVu-LICENSE`),
//! so charts look the same on any host and need no system fonts.

use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// Chart size in pixels.
pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 450;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// One line: `(unix seconds, value)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("the embedded font could not be loaded")]
    Font,
    #[error("drawing failed: {0}")]
    Draw(String),
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] png::EncodingError),
}

static FONT_OK: OnceLock<bool> = OnceLock::new();

/// Registers the embedded font once per process.
fn font_ready() -> bool {
    *FONT_OK.get_or_init(|| register_font("sans-serif", FontStyle::Normal, FONT).is_ok())
}

/// Draws the series as lines over time and returns PNG bytes.
pub fn render(
    title: &str,
    series: &[Series],
    width: u32,
    height: u32,
) -> Result<Vec<u8>, ChartError> {
    if !font_ready() {
        return Err(ChartError::Font);
    }
    let mut rgb = vec![255u8; (width * height * 3) as usize];
    draw(&mut rgb, title, series, width, height).map_err(|e| ChartError::Draw(e.to_string()))?;
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(&rgb)?;
        w.finish()?;
    }
    Ok(out)
}

fn draw(
    rgb: &mut [u8],
    title: &str,
    series: &[Series],
    width: u32,
    height: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(rgb, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let points = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        // No data: an empty frame with the title says so.
        let (x, y) = (width as i32 / 2 - 60, height as i32 / 2);
        root.draw(&Text::new(
            format!("{title}: no data"),
            (x, y),
            ("sans-serif", 18).into_font(),
        ))?;
        root.present()?;
        return Ok(());
    }
    if x1 - x0 < 1.0 {
        x1 = x0 + 1.0;
    }
    // Rates start at zero; a little headroom keeps the top line off the frame.
    let lo = y0.min(0.0);
    let hi = if y1 > lo {
        y1 + (y1 - lo) * 0.1
    } else {
        lo + 1.0
    };
    y0 = lo;
    let span = x1 - x0;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20).into_font())
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..hi)?;
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&|x| clock(*x, span))
        .y_label_formatter(&|y| crate::prom::format_value(*y))
        .x_desc("UTC")
        .label_style(("sans-serif", 13).into_font())
        .draw()?;
    for (i, s) in series.iter().enumerate().take(12) {
        let color = Palette99::pick(i).to_rgba();
        let label = if s.label.chars().count() > 60 {
            format!("{}…", s.label.chars().take(60).collect::<String>())
        } else {
            s.label.clone()
        };
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 12).into_font())
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Unix seconds → `HH:MM` (UTC), or `MM-DD HH:MM` for ranges over a day.
fn clock(t: f64, span: f64) -> String {
    let s = t.max(0.0) as i64;
    let day_secs = s % 86400;
    let hm = format!("{:02}:{:02}", day_secs / 3600, day_secs % 3600 / 60);
    if span > 86400.0 {
        let (_, m, d) = civil_from_days(s / 86400);
        format!("{m:02}-{d:02} {hm}")
    } else {
        hm
    }
}

/// Days since 1970-01-01 → (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_labels_are_utc_times() {
        // 2026-11-25 04:43:00 UTC
        assert_eq!(clock(1_795_581_780.0, 3600.0), "04:43");
        assert_eq!(clock(1_795_581_780.0, 2.0 * 86400.0), "11-25 04:43");
    }
}
