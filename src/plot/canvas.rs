//! The surface every figure is drawn on, PNG or SVG, through one drawing path.
//!
//! [`Canvas`] is a plotters backend that forwards every call to either the bitmap backend or the
//! SVG backend, so the figure code is written once (against `DrawingArea<Canvas, _>`) and each
//! format keeps its own backend's behaviour exactly: a PNG is the bytes the bitmap backend alone
//! gives, an SVG has real `<text>` elements (font-family `sans-serif`), not glyph outlines.
//!
//! Invariants:
//! - Deterministic: neither backend reads a clock or randomness, and the SVG has no ids; the same
//!   drawing gives the same bytes.
//! - Text is measured with the embedded DejaVu Sans in both formats (plotters lays text out with
//!   the registered font), so a label cut to fit in the PNG fits in the SVG too. The SVG asks for
//!   DejaVu Sans first in a style rule, so a viewer that has it shows the very same widths; one
//!   that has not falls back to its `sans-serif`, narrower or alike.

use std::fmt;

use image::codecs::png::PngEncoder;
use image::{ColorType, ImageEncoder};
use plotters::prelude::*;
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind};

use super::PlotError;

/// The file format of a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    /// A PNG image (RGB, 8 bits per channel).
    Png,
    /// An SVG document whose text is text (searchable, scalable, for docs and slides).
    Svg,
}

impl Format {
    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }
}

/// A plotters backend that is either a bitmap or an SVG document.
pub(crate) enum Canvas<'a> {
    Png(BitMapBackend<'a>),
    Svg(SVGBackend<'a>),
}

type PngError = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

/// An error of the backend behind a [`Canvas`].
#[derive(Debug)]
pub(crate) enum CanvasError {
    Png(PngError),
    Svg(std::io::Error),
}

impl fmt::Display for CanvasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CanvasError::Png(e) => write!(f, "{e}"),
            CanvasError::Svg(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CanvasError {}

/// A backend's result with its error wrapped as the canvas's.
fn lift<T, E: std::error::Error + Send + Sync>(
    r: Result<T, DrawingErrorKind<E>>,
    wrap: impl FnOnce(E) -> CanvasError,
) -> Result<T, DrawingErrorKind<CanvasError>> {
    r.map_err(|e| match e {
        DrawingErrorKind::DrawingError(e) => DrawingErrorKind::DrawingError(wrap(e)),
        DrawingErrorKind::FontError(e) => DrawingErrorKind::FontError(e),
    })
}

/// Forwards a call to the backend inside, whichever it is.
macro_rules! forward {
    ($self:expr, $b:ident => $call:expr) => {
        match $self {
            Canvas::Png($b) => lift($call, CanvasError::Png),
            Canvas::Svg($b) => lift($call, CanvasError::Svg),
        }
    };
}

impl DrawingBackend for Canvas<'_> {
    type ErrorType = CanvasError;

    fn get_size(&self) -> (u32, u32) {
        match self {
            Canvas::Png(b) => b.get_size(),
            Canvas::Svg(b) => b.get_size(),
        }
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<CanvasError>> {
        forward!(self, b => b.ensure_prepared())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<CanvasError>> {
        forward!(self, b => b.present())
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), DrawingErrorKind<CanvasError>> {
        forward!(self, b => b.draw_pixel(point, color))
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        forward!(self, b => b.draw_line(from, to, style))
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        forward!(self, b => b.draw_rect(upper_left, bottom_right, style, fill))
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        forward!(self, b => b.draw_path(path, style))
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        forward!(self, b => b.draw_circle(center, radius, style, fill))
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        forward!(self, b => b.fill_polygon(vert, style))
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        forward!(self, b => b.draw_text(text, style, pos))
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<CanvasError>> {
        forward!(self, b => b.estimate_text_size(text, style))
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        forward!(self, b => b.blit_bitmap(pos, size, src))
    }
}

/// Asks for the font the figure was measured with before the generic family the text names.
const SVG_STYLE: &str = "<style>text { font-family: \"DejaVu Sans\", sans-serif; }</style>\n";

/// Renders `draw` on a white `w`×`h` canvas and encodes it in `format`.
pub(crate) fn render(
    w: u32,
    h: u32,
    format: Format,
    draw: impl FnOnce(&DrawingArea<Canvas, plotters::coord::Shift>) -> Result<(), PlotError>,
) -> Result<Vec<u8>, PlotError> {
    match format {
        Format::Png => {
            // A white buffer rather than a fill: the same bytes as before the canvas existed.
            let mut rgb = vec![255u8; w as usize * h as usize * 3];
            {
                let root = Canvas::Png(BitMapBackend::with_buffer(&mut rgb, (w, h))).into_drawing_area();
                draw(&root)?;
                root.present()?;
            }
            let mut png = Vec::new();
            PngEncoder::new(&mut png)
                .write_image(&rgb, w, h, ColorType::Rgb8)
                .map_err(|e| PlotError::Encode(e.to_string()))?;
            Ok(png)
        }
        Format::Svg => {
            let mut svg = String::new();
            {
                let root = Canvas::Svg(SVGBackend::with_string(&mut svg, (w, h))).into_drawing_area();
                // An SVG is transparent where nothing is drawn: paint the page as the PNG's.
                root.fill(&WHITE)?;
                draw(&root)?;
                root.present()?;
            }
            // After the opening <svg ...> tag, which ends the first line.
            if let Some(end) = svg.find(">\n") {
                svg.insert_str(end + 2, SVG_STYLE);
            }
            Ok(svg.into_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_draw_the_same_shapes_and_svg_text_is_text() {
        super::super::ensure_fonts().unwrap();
        let draw = |root: &DrawingArea<Canvas, plotters::coord::Shift>| -> Result<(), PlotError> {
            root.draw(&Rectangle::new([(10, 10), (50, 40)], RED.filled()))?;
            root.draw_text("héllo <&>", &("sans-serif", 14).into_font().color(&BLACK), (5, 60))?;
            Ok(())
        };
        let png = render(80, 80, Format::Png, draw).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let svg = String::from_utf8(render(80, 80, Format::Svg, draw).unwrap()).unwrap();
        assert!(svg.starts_with("<svg width=\"80\" height=\"80\""), "{svg}");
        assert!(svg.contains("font-family=\"sans-serif\""), "{svg}");
        assert!(svg.contains(">\nhéllo &lt;&amp;&gt;\n</text>"), "{svg}");
        assert!(svg.contains("<rect x=\"10\" y=\"10\" width=\"40\" height=\"30\""), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        assert_eq!(svg.as_bytes(), render(80, 80, Format::Svg, draw).unwrap());
    }
}
