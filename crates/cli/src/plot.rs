//! `--plot OUT.svg`: calls in progress per gateway over time, and the distribution of
//! decision latency, drawn with plotters.

use plotters::prelude::*;
use tpr_sim::Report;

const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The SVG document.
pub fn svg(report: &Report) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1000, 800)).into_drawing_area();
        let _ = draw(report, &root);
        let _ = root.present();
    }
    out
}

fn draw<DB: DrawingBackend>(
    report: &Report,
    root: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(500);
    let minutes = |ms: u64| ms as f64 / 60_000.0;
    let end = report.series.last().map_or(1.0, |b| minutes(b.start_ms + report.interval_ms));
    let peak =
        report.series.iter().flat_map(|b| b.gateways.iter().copied()).max().unwrap_or(0).max(1);
    let mut chart = ChartBuilder::on(&top)
        .caption("calls in progress per gateway", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(0.0..end, 0u32..peak + peak / 10 + 1)?;
    chart.configure_mesh().x_desc("simulated minutes").y_desc("calls").draw()?;
    for (i, name) in report.gateway_order.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<(f64, u32)> = report
            .series
            .iter()
            .map(|b| {
                (minutes(b.start_ms + report.interval_ms), b.gateways.get(i).copied().unwrap_or(0))
            })
            .collect();
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
    }
    chart.configure_series_labels().border_style(BLACK).background_style(WHITE).draw()?;

    // Latency: the share of decisions at or under each latency (log-spaced buckets).
    let Some(h) = &report.latency else { return Ok(()) };
    if h.is_empty() {
        return Ok(());
    }
    let max = h.max().max(2) as f64;
    let steps = 60;
    let points: Vec<(f64, f64)> = (0..=steps)
        .map(|i| {
            let ns = max.powf(i as f64 / steps as f64);
            (ns.log10(), h.quantile_below(ns as u64) * 100.0)
        })
        .collect();
    let mut chart = ChartBuilder::on(&bottom)
        .caption("routing decision latency (cumulative)", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(0.0..max.log10(), 0.0..100.0)?;
    chart.configure_mesh().x_desc("latency, log10(ns)").y_desc("% of decisions").draw()?;
    chart.draw_series(LineSeries::new(points, COLOURS[0].stroke_width(2)))?;
    Ok(())
}
