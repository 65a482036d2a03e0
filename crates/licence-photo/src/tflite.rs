//! A small interpreter for the TensorFlow Lite models the photo check runs (MediaPipe's
//! BlazeFace, Face Mesh and iris landmarks): batch-1 NHWC float tensors and the handful of
//! operators those models use.
//!
//! Why not a crate: `tract-tflite` (the pure-Rust choice) has no `DEQUANTIZE`, which MediaPipe's
//! models use to keep their weights as f16, and it made a test binary 13 MB, against an app
//! budget of 20 MB. These models need ten operators; this file covers them, checks every index
//! and shape when the model is loaded, and refuses any model that needs something else.

use std::rc::Rc;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use sha2::{Digest, Sha256};

use thiserror::Error;

/// Why a model could not be loaded or run. The models are compiled in, so these are found by
/// the tests, not by drivers; they still never panic.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ModelError {
    #[error("the model file is malformed: {0}")]
    Malformed(&'static str),
    #[error("the model uses an operator this interpreter does not have: {0}")]
    Unsupported(String),
    #[error("the input has {got} values, the model takes {want}")]
    InputSize { got: usize, want: usize },
}

type Result<T> = std::result::Result<T, ModelError>;

// ---------------------------------------------------------------------------------------------
// FlatBuffers, read by hand: only tables, scalars and vectors are needed.

#[derive(Clone, Copy)]
struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

fn read<const N: usize>(buf: &[u8], at: usize) -> Result<[u8; N]> {
    buf.get(
        at..at
            .checked_add(N)
            .ok_or(ModelError::Malformed("offset overflow"))?,
    )
    .and_then(|s| s.try_into().ok())
    .ok_or(ModelError::Malformed("offset past the end"))
}

fn u16_at(buf: &[u8], at: usize) -> Result<u16> {
    read::<2>(buf, at).map(u16::from_le_bytes)
}

fn u32_at(buf: &[u8], at: usize) -> Result<u32> {
    read::<4>(buf, at).map(u32::from_le_bytes)
}

fn i32_at(buf: &[u8], at: usize) -> Result<i32> {
    read::<4>(buf, at).map(i32::from_le_bytes)
}

/// Follows the unsigned offset stored at `at`.
fn follow(buf: &[u8], at: usize) -> Result<usize> {
    at.checked_add(u32_at(buf, at)? as usize)
        .ok_or(ModelError::Malformed("offset overflow"))
}

impl<'a> Table<'a> {
    fn at(buf: &'a [u8], pos: usize) -> Result<Table<'a>> {
        let back = i64::from(i32_at(buf, pos)?);
        let vtable = usize::try_from(pos as i64 - back)
            .map_err(|_| ModelError::Malformed("vtable before the start"))?;
        let vtable_len = usize::from(u16_at(buf, vtable)?);
        Ok(Table {
            buf,
            pos,
            vtable,
            vtable_len,
        })
    }

    fn field(&self, id: usize) -> Result<Option<usize>> {
        let entry = 4 + 2 * id;
        if entry + 2 > self.vtable_len {
            return Ok(None);
        }
        let offset = u16_at(self.buf, self.vtable + entry)?;
        Ok((offset != 0).then_some(self.pos + usize::from(offset)))
    }

    fn u8_or(&self, id: usize, default: u8) -> Result<u8> {
        match self.field(id)? {
            Some(at) => Ok(read::<1>(self.buf, at)?[0]),
            None => Ok(default),
        }
    }

    fn i32_or(&self, id: usize, default: i32) -> Result<i32> {
        match self.field(id)? {
            Some(at) => i32_at(self.buf, at),
            None => Ok(default),
        }
    }

    fn u32_or(&self, id: usize, default: u32) -> Result<u32> {
        match self.field(id)? {
            Some(at) => u32_at(self.buf, at),
            None => Ok(default),
        }
    }

    fn table(&self, id: usize) -> Result<Option<Table<'a>>> {
        match self.field(id)? {
            Some(at) => Ok(Some(Table::at(self.buf, follow(self.buf, at)?)?)),
            None => Ok(None),
        }
    }

    /// A vector field: where its elements start, and how many there are.
    fn vector(&self, id: usize) -> Result<(usize, usize)> {
        match self.field(id)? {
            Some(at) => {
                let v = follow(self.buf, at)?;
                let len = u32_at(self.buf, v)? as usize;
                Ok((v + 4, len))
            }
            None => Ok((0, 0)),
        }
    }

    fn tables(&self, id: usize) -> Result<Vec<Table<'a>>> {
        let (start, len) = self.vector(id)?;
        (0..len)
            .map(|i| Table::at(self.buf, follow(self.buf, start + 4 * i)?))
            .collect()
    }

    fn i32s(&self, id: usize) -> Result<Vec<i32>> {
        let (start, len) = self.vector(id)?;
        (0..len).map(|i| i32_at(self.buf, start + 4 * i)).collect()
    }

    fn bytes(&self, id: usize) -> Result<&'a [u8]> {
        let (start, len) = self.vector(id)?;
        self.buf
            .get(start..start + len)
            .ok_or(ModelError::Malformed("byte vector past the end"))
    }
}

// ---------------------------------------------------------------------------------------------
// Tensors and operators.

/// A dense float tensor, NHWC for images.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Activation {
    None,
    Relu,
    ReluN1To1,
    Relu6,
}

impl Activation {
    fn from_code(code: u8) -> Result<Activation> {
        match code {
            0 => Ok(Activation::None),
            1 => Ok(Activation::Relu),
            2 => Ok(Activation::ReluN1To1),
            3 => Ok(Activation::Relu6),
            other => Err(ModelError::Unsupported(format!("fused activation {other}"))),
        }
    }

    fn apply(self, data: &mut [f32]) {
        let (lo, hi) = match self {
            Activation::None => return,
            Activation::Relu => (0.0, f32::INFINITY),
            Activation::ReluN1To1 => (-1.0, 1.0),
            Activation::Relu6 => (0.0, 6.0),
        };
        for v in data {
            *v = v.clamp(lo, hi);
        }
    }
}

/// How a window is placed over the input (TFLite's `SAME` and `VALID`).
#[derive(Debug, Clone, Copy)]
struct Window {
    kernel: (usize, usize),
    stride: (usize, usize),
    same: bool,
}

impl Window {
    /// Output size and the padding before, along one axis.
    fn along(input: usize, kernel: usize, stride: usize, same: bool) -> Result<(usize, usize)> {
        if same {
            let out = input.div_ceil(stride);
            let total = ((out - 1) * stride + kernel).saturating_sub(input);
            Ok((out, total / 2))
        } else if input >= kernel {
            Ok(((input - kernel) / stride + 1, 0))
        } else {
            Err(ModelError::Malformed("window larger than its input"))
        }
    }

    /// (out_h, out_w, pad_top, pad_left)
    fn output(&self, h: usize, w: usize) -> Result<(usize, usize, usize, usize)> {
        let (oh, top) = Window::along(h, self.kernel.0, self.stride.0, self.same)?;
        let (ow, left) = Window::along(w, self.kernel.1, self.stride.1, self.same)?;
        Ok((oh, ow, top, left))
    }
}

#[derive(Debug, Clone)]
enum Operand {
    Tensor(usize),
    Constant(Tensor),
}

#[derive(Debug)]
enum Step {
    /// Weights rearranged to [kh][kw][in][out] so the innermost loop runs along the outputs.
    Conv {
        input: usize,
        weights: Vec<f32>,
        bias: Vec<f32>,
        channels: (usize, usize),
        window: Window,
        activation: Activation,
    },
    /// Weights [kh][kw][out], out = in × multiplier.
    Depthwise {
        input: usize,
        weights: Vec<f32>,
        bias: Vec<f32>,
        multiplier: usize,
        window: Window,
        activation: Activation,
    },
    Add {
        a: Operand,
        b: Operand,
        activation: Activation,
    },
    MaxPool {
        input: usize,
        window: Window,
        activation: Activation,
    },
    Pad {
        input: usize,
        pads: Vec<(usize, usize)>,
    },
    Reshape {
        input: usize,
        shape: Vec<usize>,
    },
    Concat {
        inputs: Vec<Operand>,
        axis: usize,
        activation: Activation,
    },
    Relu {
        input: usize,
    },
    /// Parametric ReLU: alpha per channel (the last axis).
    Prelu {
        input: usize,
        alpha: Vec<f32>,
    },
}

/// A loaded model: its steps in order, and which tensor each writes.
#[derive(Debug)]
pub struct Model {
    steps: Vec<(Step, usize)>,
    input: usize,
    input_shape: Vec<usize>,
    outputs: Vec<usize>,
    /// For each step, the tensors whose last reader it is (freed after it runs).
    frees: Vec<Vec<usize>>,
    tensor_count: usize,
}

/// Reads a model file by its name (as in `assets/models`). Set once by a program that ships
/// the files beside itself; see [`read_models_with`].
type ModelReader = dyn Fn(&str) -> std::io::Result<Vec<u8>> + Send + Sync;

static READER: OnceLock<Box<ModelReader>> = OnceLock::new();

/// Has every later model load read its file through `reader` (given the file's name in
/// `assets/models`) instead of the copy compiled into the program. A file that cannot be
/// read, or whose SHA-256 is not the compiled-in copy's, is passed over for that copy.
///
/// Why: a compiled-in copy, once read, stays resident as the program's own pages, about 4 MB
/// for the three models, for as long as the program runs. Read from a file, the bytes are
/// freed once the model is loaded, and its weights when the last checker goes, which the
/// app's memory budget needs (issue 14; docs/performance.md). The server and the CLI keep
/// the compiled-in copies: their checkers live as long as the process anyway.
///
/// Returns false (and changes nothing) if a reader was already set.
pub fn read_models_with(
    reader: impl Fn(&str) -> std::io::Result<Vec<u8>> + Send + Sync + 'static,
) -> bool {
    READER.set(Box::new(reader)).is_ok()
}

/// Whether every model the check uses can be read through the reader set by
/// [`read_models_with`] and is the model compiled in; the first one that is not, with why.
pub fn model_files_usable() -> std::result::Result<(), ModelFileError> {
    for model in MODELS {
        model.read_file()?;
    }
    Ok(())
}

/// Every model the check uses.
static MODELS: [&SharedModel; 3] = [
    &crate::blazeface::MODEL,
    &crate::landmarks::MODEL,
    &crate::iris::MODEL,
];

/// Why a model file was passed over for the compiled-in copy.
#[derive(Debug, Error)]
pub enum ModelFileError {
    #[error("no reader of model files was set")]
    NoReader,
    #[error("{name}: {source}")]
    Unreadable {
        name: &'static str,
        source: std::io::Error,
    },
    #[error("{name}: not the model this program was built with (SHA-256 {found})")]
    Different { name: &'static str, found: String },
}

/// A compiled-in model (a file of `assets/models`) as a [`SharedModel`].
macro_rules! compiled_model {
    ($name:literal, $sha256:literal) => {
        $crate::tflite::SharedModel::new(
            $name,
            include_bytes!(concat!("../../../assets/models/", $name)),
            $sha256,
        )
    };
}
pub(crate) use compiled_model;

/// One loaded copy of a model, shared by every holder while any holder is alive.
///
/// Why weak: the server's and the CLI's checkers live as long as the process, so they load
/// each model once; the app checks a photo now and then, and keeping the weights (about
/// 3.5 MiB as f32) between checks would hold them against its memory budget (issue 14).
pub struct SharedModel {
    /// The file's name in `assets/models`.
    name: &'static str,
    /// The copy compiled in: touched only when no file is read instead.
    bytes: &'static [u8],
    /// Of `bytes`, in lower-case hex; a file read instead must have the same.
    sha256: &'static str,
    loaded: Mutex<Weak<Model>>,
}

impl SharedModel {
    pub const fn new(
        name: &'static str,
        bytes: &'static [u8],
        sha256: &'static str,
    ) -> SharedModel {
        SharedModel {
            name,
            bytes,
            sha256,
            loaded: Mutex::new(Weak::new()),
        }
    }

    /// The loaded model: the copy another holder has, or a new one, from the file when a
    /// reader is set and the file is this model, else from the compiled-in copy.
    pub fn get(&self) -> Result<Arc<Model>> {
        // A holder that panicked cannot have left the cache half-written: it holds a Weak.
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(model) = loaded.upgrade() {
            return Ok(model);
        }
        let model = Arc::new(match self.read_file() {
            Ok(file) => Model::load(&file)?,
            Err(_) => Model::load(self.bytes)?,
        });
        *loaded = Arc::downgrade(&model);
        Ok(model)
    }

    /// The model's file through the reader, if it is the compiled-in model.
    fn read_file(&self) -> std::result::Result<Vec<u8>, ModelFileError> {
        let reader = READER.get().ok_or(ModelFileError::NoReader)?;
        let file = reader(self.name).map_err(|source| ModelFileError::Unreadable {
            name: self.name,
            source,
        })?;
        let found = sha256_hex(&file);
        if found != self.sha256 {
            return Err(ModelFileError::Different {
                name: self.name,
                found,
            });
        }
        Ok(file)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

// TFLite's operator codes (schema.fbs, BuiltinOperator).
const ADD: i32 = 0;
const CONCATENATION: i32 = 2;
const CONV_2D: i32 = 3;
const DEPTHWISE_CONV_2D: i32 = 4;
const DEQUANTIZE: i32 = 6;
const MAX_POOL_2D: i32 = 17;
const RELU: i32 = 19;
const RESHAPE: i32 = 22;
const PAD: i32 = 34;
const PRELU: i32 = 54;

// TensorType.
const FLOAT32: u8 = 0;
const FLOAT16: u8 = 1;
const INT32: u8 = 2;

/// A constant's values as read from the file. Half floats stay the file's bytes until a step
/// takes them, and are converted then, for that step alone (a DEQUANTIZE's output is the same
/// bytes): converting every weight up front, and copying it for each step that reads it, made
/// loading touch several times the weights' size in fresh memory, and a fresh process spent
/// most of its loading time in page faults.
#[derive(Debug, Clone)]
enum Constant<'a> {
    Float(Rc<Tensor>),
    Half { shape: Vec<usize>, bytes: &'a [u8] },
    Int(Rc<Vec<i32>>),
}

impl Constant<'_> {
    /// The values as floats, if they are.
    fn floats(&self) -> Option<Rc<Tensor>> {
        match self {
            Constant::Float(t) => Some(t.clone()),
            Constant::Half { shape, bytes } => Some(Rc::new(Tensor {
                shape: shape.clone(),
                data: f16s_to_f32(bytes),
            })),
            Constant::Int(_) => None,
        }
    }
}

/// Half floats as stored little-endian in a model file, as f32 (exactly: every half is an
/// f32). The `half` crate converts eight at a time where the CPU can (F16C, found at run time).
fn f16s_to_f32(data: &[u8]) -> Vec<f32> {
    use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};
    // A block at a time through a buffer on the stack, rather than all the bits in a vector
    // of their own: the file's bytes need not be aligned for u16.
    const BLOCK: usize = 1024;
    let mut out = vec![0.0; data.len() / 2];
    let mut bits = [0u16; BLOCK];
    for (bytes, out) in data.chunks(2 * BLOCK).zip(out.chunks_mut(BLOCK)) {
        let bits = &mut bits[..out.len()];
        for (b, c) in bits.iter_mut().zip(bytes.chunks_exact(2)) {
            *b = u16::from_le_bytes([c[0], c[1]]);
        }
        bits.reinterpret_cast::<half::f16>()
            .convert_to_f32_slice(out);
    }
    out
}

fn dims(shape: &[i32]) -> Result<Vec<usize>> {
    shape
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| ModelError::Malformed("negative dimension")))
        .collect()
}

fn index(i: i32, count: usize) -> Result<usize> {
    usize::try_from(i)
        .ok()
        .filter(|&i| i < count)
        .ok_or(ModelError::Malformed("tensor index out of range"))
}

impl Model {
    /// Reads a `.tflite` file: the first subgraph, one float input, float outputs.
    pub fn load(bytes: &[u8]) -> Result<Model> {
        let root = Table::at(bytes, follow(bytes, 0)?)?;
        let codes: Vec<i32> = root
            .tables(1)?
            .iter()
            .map(|c| {
                let deprecated = i32::from(c.u8_or(0, 0)? as i8);
                let code = c.i32_or(3, 0)?;
                Ok(code.max(deprecated))
            })
            .collect::<Result<_>>()?;
        let buffers = root.tables(4)?;
        let graph = root
            .tables(2)?
            .into_iter()
            .next()
            .ok_or(ModelError::Malformed("no subgraph"))?;
        let tensors = graph.tables(0)?;
        let count = tensors.len();
        let mut shapes = Vec::with_capacity(count);
        let mut constants: Vec<Option<Constant>> = Vec::with_capacity(count);
        for t in &tensors {
            let shape = dims(&t.i32s(0)?)?;
            let kind = t.u8_or(1, FLOAT32)?;
            let buffer = t.u32_or(2, 0)? as usize;
            let data = match buffers.get(buffer) {
                Some(b) if buffer > 0 => b.bytes(0)?,
                _ => &[],
            };
            let elements = shape
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .ok_or(ModelError::Malformed("tensor too large"))?;
            let constant = if data.is_empty() {
                None
            } else {
                let width = match kind {
                    FLOAT32 | INT32 => 4,
                    FLOAT16 => 2,
                    other => return Err(ModelError::Unsupported(format!("tensor type {other}"))),
                };
                if data.len() != elements * width {
                    return Err(ModelError::Malformed("constant of the wrong size"));
                }
                Some(match kind {
                    FLOAT32 => Constant::Float(Rc::new(Tensor {
                        shape: shape.clone(),
                        data: data
                            .chunks_exact(4)
                            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                            .collect(),
                    })),
                    FLOAT16 => Constant::Half {
                        shape: shape.clone(),
                        bytes: data,
                    },
                    _ => Constant::Int(Rc::new(
                        data.chunks_exact(4)
                            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                            .collect(),
                    )),
                })
            };
            shapes.push(shape);
            constants.push(constant);
        }
        let inputs = graph.i32s(1)?;
        let [input] = inputs[..] else {
            return Err(ModelError::Unsupported("more than one input".into()));
        };
        let input = index(input, count)?;
        let outputs = graph
            .i32s(2)?
            .into_iter()
            .map(|o| index(o, count))
            .collect::<Result<Vec<_>>>()?;

        let mut steps = Vec::new();
        for op in graph.tables(3)? {
            let code = *codes
                .get(op.u32_or(0, 0)? as usize)
                .ok_or(ModelError::Malformed("operator code out of range"))?;
            let ins = op
                .i32s(1)?
                .into_iter()
                .map(|i| {
                    if i < 0 {
                        Ok(None)
                    } else {
                        index(i, count).map(Some)
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            let outs = op.i32s(2)?;
            let [out] = outs[..] else {
                return Err(ModelError::Unsupported(
                    "an operator with several outputs".into(),
                ));
            };
            let out = index(out, count)?;
            let options = op.table(4)?;
            let input_at = |i: usize| -> Result<usize> {
                ins.get(i)
                    .copied()
                    .flatten()
                    .ok_or(ModelError::Malformed("missing operator input"))
            };
            let constant = |i: usize| -> Option<&Constant> {
                ins.get(i)
                    .copied()
                    .flatten()
                    .and_then(|t| constants[t].as_ref())
            };
            let not_float =
                || ModelError::Unsupported("weights that are not float constants".into());
            let float = |i: usize| -> Result<Rc<Tensor>> {
                constant(i).and_then(Constant::floats).ok_or_else(not_float)
            };
            let operand = |t: usize| match constants[t].as_ref().and_then(Constant::floats) {
                Some(c) => Operand::Constant(Rc::unwrap_or_clone(c)),
                _ => Operand::Tensor(t),
            };
            let opt = |id: usize, default: i32| -> Result<i32> {
                options.map_or(Ok(default), |o| o.i32_or(id, default))
            };
            let opt_u8 = |id: usize| -> Result<u8> { options.map_or(Ok(0), |o| o.u8_or(id, 0)) };
            let stride = |w: usize, h: usize| -> Result<(usize, usize)> {
                let (sw, sh) = (opt(w, 1)?, opt(h, 1)?);
                match (usize::try_from(sh), usize::try_from(sw)) {
                    (Ok(h @ 1..), Ok(w @ 1..)) => Ok((h, w)),
                    _ => Err(ModelError::Malformed("stride below 1")),
                }
            };
            let step = match code {
                DEQUANTIZE => {
                    // Constant folding: the output is the same half floats, converted where
                    // a step takes them.
                    let value = constant(0)
                        .filter(|c| !matches!(c, Constant::Int(_)))
                        .cloned()
                        .ok_or_else(not_float)?;
                    constants[out] = Some(value);
                    continue;
                }
                CONV_2D => {
                    let w = float(1)?;
                    let [oc, kh, kw, ic] = w.shape[..] else {
                        return Err(ModelError::Malformed("conv weights not 4-D"));
                    };
                    if opt(4, 1)? != 1 || opt(5, 1)? != 1 {
                        return Err(ModelError::Unsupported("dilated convolution".into()));
                    }
                    let (weights, bias) = padded(
                        &w.data,
                        (oc, kh * kw, ic),
                        bias(ins.get(2).copied().flatten(), &constants, oc)?,
                    );
                    Step::Conv {
                        input: input_at(0)?,
                        weights,
                        bias,
                        channels: (ic, oc),
                        window: Window {
                            kernel: (kh, kw),
                            stride: stride(1, 2)?,
                            same: opt_u8(0)? == 0,
                        },
                        activation: Activation::from_code(opt_u8(3)?)?,
                    }
                }
                DEPTHWISE_CONV_2D => {
                    let w = float(1)?;
                    let [1, kh, kw, oc] = w.shape[..] else {
                        return Err(ModelError::Malformed("depthwise weights not [1,h,w,c]"));
                    };
                    if opt(5, 1)? != 1 || opt(6, 1)? != 1 {
                        return Err(ModelError::Unsupported("dilated convolution".into()));
                    }
                    let multiplier = usize::try_from(opt(3, 1)?)
                        .ok()
                        .filter(|&m| m >= 1 && oc % m == 0)
                        .ok_or(ModelError::Malformed("depth multiplier"))?;
                    Step::Depthwise {
                        input: input_at(0)?,
                        weights: Rc::unwrap_or_clone(w).data,
                        bias: bias(ins.get(2).copied().flatten(), &constants, oc)?,
                        multiplier,
                        window: Window {
                            kernel: (kh, kw),
                            stride: stride(1, 2)?,
                            same: opt_u8(0)? == 0,
                        },
                        activation: Activation::from_code(opt_u8(4)?)?,
                    }
                }
                ADD => Step::Add {
                    a: operand(input_at(0)?),
                    b: operand(input_at(1)?),
                    activation: Activation::from_code(opt_u8(0)?)?,
                },
                MAX_POOL_2D => {
                    let kernel = match (usize::try_from(opt(4, 0)?), usize::try_from(opt(3, 0)?)) {
                        (Ok(h @ 1..), Ok(w @ 1..)) => (h, w),
                        _ => return Err(ModelError::Malformed("pool window below 1")),
                    };
                    Step::MaxPool {
                        input: input_at(0)?,
                        window: Window {
                            kernel,
                            stride: stride(1, 2)?,
                            same: opt_u8(0)? == 0,
                        },
                        activation: Activation::from_code(opt_u8(5)?)?,
                    }
                }
                PAD => {
                    let Some(Constant::Int(p)) = constants[input_at(1)?].clone() else {
                        return Err(ModelError::Unsupported(
                            "padding that is not constant".into(),
                        ));
                    };
                    let pads = p
                        .chunks_exact(2)
                        .map(|c| match (usize::try_from(c[0]), usize::try_from(c[1])) {
                            (Ok(a), Ok(b)) => Ok((a, b)),
                            _ => Err(ModelError::Malformed("negative padding")),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    Step::Pad {
                        input: input_at(0)?,
                        pads,
                    }
                }
                RESHAPE => Step::Reshape {
                    input: input_at(0)?,
                    shape: shapes[out].clone(),
                },
                CONCATENATION => {
                    let rank = shapes[out].len() as i32;
                    let axis = opt(0, 0)?;
                    let axis = usize::try_from(if axis < 0 { axis + rank } else { axis })
                        .ok()
                        .filter(|&a| a < shapes[out].len())
                        .ok_or(ModelError::Malformed("concatenation axis"))?;
                    Step::Concat {
                        inputs: ins
                            .iter()
                            .map(|i| i.map(operand).ok_or(ModelError::Malformed("missing input")))
                            .collect::<Result<_>>()?,
                        axis,
                        activation: Activation::from_code(opt_u8(1)?)?,
                    }
                }
                RELU => Step::Relu {
                    input: input_at(0)?,
                },
                PRELU => Step::Prelu {
                    input: input_at(0)?,
                    alpha: Rc::unwrap_or_clone(float(1)?).data,
                },
                other => return Err(ModelError::Unsupported(format!("operator code {other}"))),
            };
            steps.push((step, out));
        }

        // Each runtime tensor is freed after the last step that reads it.
        let mut last_read = vec![None; count];
        for (i, (step, _)) in steps.iter().enumerate() {
            for t in step.reads() {
                last_read[t] = Some(i);
            }
        }
        let mut frees = vec![Vec::new(); steps.len()];
        for (t, last) in last_read.iter().enumerate() {
            if let Some(i) = last {
                if !outputs.contains(&t) {
                    frees[*i].push(t);
                }
            }
        }
        let model = Model {
            steps,
            input,
            input_shape: shapes[input].clone(),
            outputs,
            frees,
            tensor_count: count,
        };
        Ok(model)
    }

    /// The shape the input must have, e.g. [1, 128, 128, 3].
    #[cfg(test)]
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Runs the model on one input; returns its outputs in the model's order.
    pub fn run(&self, input: Vec<f32>) -> Result<Vec<Tensor>> {
        let want: usize = self.input_shape.iter().product();
        if input.len() != want {
            return Err(ModelError::InputSize {
                got: input.len(),
                want,
            });
        }
        let mut values: Vec<Option<Tensor>> = vec![None; self.tensor_count];
        values[self.input] = Some(Tensor {
            shape: self.input_shape.clone(),
            data: input,
        });
        for ((step, out), frees) in self.steps.iter().zip(&self.frees) {
            let result = step.run(&mut values, frees)?;
            for &t in frees {
                values[t] = None;
            }
            values[*out] = Some(result);
        }
        self.outputs
            .iter()
            .map(|&o| {
                values[o]
                    .take()
                    .ok_or(ModelError::Malformed("an output no step writes"))
            })
            .collect()
    }
}

/// Outputs a convolution sums at once, in registers.
const LANE: usize = 16;

/// Conv weights [out][k][in] rearranged to [k][lane][in][LANE] (out = lane × LANE + j), and
/// the bias padded to whole lanes: the zeros of the padding are summed and never stored.
fn padded(w: &[f32], (oc, k, ic): (usize, usize, usize), bias: Vec<f32>) -> (Vec<f32>, Vec<f32>) {
    let lanes = oc.div_ceil(LANE);
    let mut weights = vec![0.0; k * lanes * ic * LANE];
    for o in 0..oc {
        let (lane, j) = (o / LANE, o % LANE);
        for kk in 0..k {
            for i in 0..ic {
                weights[((kk * lanes + lane) * ic + i) * LANE + j] = w[(o * k + kk) * ic + i];
            }
        }
    }
    let mut bias = bias;
    bias.resize(lanes * LANE, 0.0);
    (weights, bias)
}

/// Sizes of one convolution: input and output (h, w, channels), padding (top, left).
#[derive(Clone, Copy)]
struct Shapes {
    input: (usize, usize, usize),
    output: (usize, usize, usize),
    pad: (usize, usize),
}

impl Shapes {
    /// The input pixel under output (oy, ox) and kernel tap (ky, kx), if it is inside.
    #[inline(always)]
    fn tap(
        &self,
        window: &Window,
        (oy, ox): (usize, usize),
        (ky, kx): (usize, usize),
    ) -> Option<usize> {
        let iy = (oy * window.stride.0 + ky).checked_sub(self.pad.0)?;
        let ix = (ox * window.stride.1 + kx).checked_sub(self.pad.1)?;
        (iy < self.input.0 && ix < self.input.1).then_some(iy * self.input.1 + ix)
    }
}

/// Output pixels of a row a convolution sums at once, where the window lies inside the
/// input across them: each weight loaded is used this many times while it is in a register
/// (loads, not arithmetic, bounded the one-pixel loop).
const BLOCK: usize = 4;

/// The convolution's loops. Compiled also for AVX2 and chosen at run time (`multiversion`):
/// the same code, summing eight outputs per instruction instead of four. Every output is the
/// same sum in the same order whether made alone or in a block (bias, then the taps in order,
/// channels in order): blocks interleave sums, they change none.
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn convolve(
    x: &[f32],
    weights: &[f32],
    bias: &[f32],
    window: &Window,
    shape: Shapes,
    out: &mut [f32],
) {
    let (kh, kw) = window.kernel;
    let (h, w, ic) = shape.input;
    let (oh, ow, oc) = shape.output;
    // Weights and bias are padded to whole lanes at load (`padded`): each lane of outputs is
    // summed in registers over the whole window, then stored once.
    let lanes = weights.len() / (kh * kw * ic * LANE);
    let kernel = |ky: usize, kx: usize, lane: usize| {
        &weights[(((ky * kw + kx) * lanes + lane) * ic) * LANE..][..ic * LANE]
    };
    let (sy, sx) = window.stride;
    // A block of outputs from `ox` whose windows all lie inside the input's columns.
    let inside =
        |ox: usize| ox * sx >= shape.pad.1 && (ox + BLOCK - 1) * sx + kw - 1 - shape.pad.1 < w;
    for oy in 0..oh {
        let mut ox = 0;
        while ox < ow {
            if ox + BLOCK <= ow && inside(ox) {
                for lane in 0..lanes {
                    let mut acc = [[0.0f32; LANE]; BLOCK];
                    for a in &mut acc {
                        a.copy_from_slice(&bias[lane * LANE..][..LANE]);
                    }
                    for ky in 0..kh {
                        let Some(iy) = (oy * sy + ky).checked_sub(shape.pad.0) else {
                            continue;
                        };
                        if iy >= h {
                            continue;
                        }
                        for kx in 0..kw {
                            let first = iy * w + ox * sx + kx - shape.pad.1;
                            let pixel = |p: usize| &x[(first + p * sx) * ic..][..ic];
                            let [a0, a1, a2, a3] = &mut acc;
                            let pixels =
                                (pixel(0).iter()).zip(pixel(1)).zip(pixel(2)).zip(pixel(3));
                            let rows = kernel(ky, kx, lane).chunks_exact(LANE);
                            for (row, (((&v0, &v1), &v2), &v3)) in rows.zip(pixels) {
                                let row: &[f32; LANE] = row.try_into().expect("a lane");
                                for j in 0..LANE {
                                    a0[j] += v0 * row[j];
                                    a1[j] += v1 * row[j];
                                    a2[j] += v2 * row[j];
                                    a3[j] += v3 * row[j];
                                }
                            }
                        }
                    }
                    let n = LANE.min(oc - lane * LANE);
                    for (p, a) in acc.iter().enumerate() {
                        out[(oy * ow + ox + p) * oc + lane * LANE..][..n].copy_from_slice(&a[..n]);
                    }
                }
                ox += BLOCK;
                continue;
            }
            // One pixel: where the window crosses the input's edge, and the row's last few.
            let at = (oy * ow + ox) * oc;
            for lane in 0..lanes {
                let mut acc = [0.0f32; LANE];
                acc.copy_from_slice(&bias[lane * LANE..][..LANE]);
                for ky in 0..kh {
                    for kx in 0..kw {
                        let Some(i) = shape.tap(window, (oy, ox), (ky, kx)) else {
                            continue;
                        };
                        let pixel = &x[i * ic..][..ic];
                        for (&v, row) in pixel.iter().zip(kernel(ky, kx, lane).chunks_exact(LANE)) {
                            for (a, &k) in acc.iter_mut().zip(row) {
                                *a += v * k;
                            }
                        }
                    }
                }
                let n = LANE.min(oc - lane * LANE);
                out[at + lane * LANE..][..n].copy_from_slice(&acc[..n]);
            }
            ox += 1;
        }
    }
}

/// PReLU in place: each channel's negative values times its slope. A choice of factor, not
/// a branch, so that it is vectorised: with the branch it was a tenth of the models' time.
/// The result is the same to the bit (×1 for the rest, NaN and -0 included).
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn prelu(data: &mut [f32], alpha: &[f32]) {
    for px in data.chunks_exact_mut(alpha.len()) {
        for (v, &a) in px.iter_mut().zip(alpha) {
            *v *= if *v < 0.0 { a } else { 1.0 };
        }
    }
}

/// The depthwise convolution's loops, compiled as `convolve` is.
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn depthwise(
    x: &[f32],
    weights: &[f32],
    bias: &[f32],
    multiplier: usize,
    window: &Window,
    shape: Shapes,
    out: &mut [f32],
) {
    let (kh, kw) = window.kernel;
    let ic = shape.input.2;
    let (oh, ow, oc) = shape.output;
    for oy in 0..oh {
        for ox in 0..ow {
            let acc = &mut out[(oy * ow + ox) * oc..][..oc];
            acc.copy_from_slice(bias);
            for ky in 0..kh {
                for kx in 0..kw {
                    let Some(i) = shape.tap(window, (oy, ox), (ky, kx)) else {
                        continue;
                    };
                    let pixel = &x[i * ic..][..ic];
                    let kernel = &weights[(ky * kw + kx) * oc..][..oc];
                    if multiplier == 1 {
                        for ((a, &v), &k) in acc.iter_mut().zip(pixel).zip(kernel) {
                            *a += v * k;
                        }
                    } else {
                        for (o, (a, &k)) in acc.iter_mut().zip(kernel).enumerate() {
                            *a += pixel[o / multiplier] * k;
                        }
                    }
                }
            }
        }
    }
}

fn bias(tensor: Option<usize>, constants: &[Option<Constant>], len: usize) -> Result<Vec<f32>> {
    match tensor.and_then(|t| constants[t].as_ref()) {
        None => Ok(vec![0.0; len]),
        Some(c) => match c.floats() {
            Some(b) if b.data.len() == len => Ok(Rc::unwrap_or_clone(b).data),
            _ => Err(ModelError::Malformed("bias of the wrong size")),
        },
    }
}

fn get(values: &[Option<Tensor>], t: usize) -> Result<&Tensor> {
    values[t]
        .as_ref()
        .ok_or(ModelError::Malformed("a tensor read before it is written"))
}

/// Tensor `t`, to be changed into a step's output: moved out of `values` when the step is
/// its last reader (`frees`), copied otherwise.
fn owned(values: &mut [Option<Tensor>], t: usize, frees: &[usize]) -> Result<Tensor> {
    if frees.contains(&t) {
        values[t]
            .take()
            .ok_or(ModelError::Malformed("a tensor read before it is written"))
    } else {
        get(values, t).cloned()
    }
}

fn operand<'v>(values: &'v [Option<Tensor>], o: &'v Operand) -> Result<&'v Tensor> {
    match o {
        Operand::Tensor(t) => get(values, *t),
        Operand::Constant(c) => Ok(c),
    }
}

/// [1, h, w, c] of an image tensor.
fn image_dims(t: &Tensor) -> Result<(usize, usize, usize)> {
    match t.shape[..] {
        [1, h, w, c] => Ok((h, w, c)),
        _ => Err(ModelError::Malformed(
            "an image tensor that is not [1,h,w,c]",
        )),
    }
}

impl Step {
    fn reads(&self) -> Vec<usize> {
        let of = |o: &Operand| match o {
            Operand::Tensor(t) => Some(*t),
            Operand::Constant(_) => None,
        };
        match self {
            Step::Conv { input, .. }
            | Step::Depthwise { input, .. }
            | Step::MaxPool { input, .. }
            | Step::Pad { input, .. }
            | Step::Reshape { input, .. }
            | Step::Relu { input }
            | Step::Prelu { input, .. } => vec![*input],
            Step::Add { a, b, .. } => [a, b].into_iter().filter_map(of).collect(),
            Step::Concat { inputs, .. } => inputs.iter().filter_map(of).collect(),
        }
    }

    /// Runs the step. `frees` are the tensors this step reads last: an elementwise step
    /// changes such an input in place instead of copying it.
    fn run(&self, values: &mut [Option<Tensor>], frees: &[usize]) -> Result<Tensor> {
        match self {
            Step::Conv {
                input,
                weights,
                bias,
                channels: (ic, oc),
                window,
                activation,
            } => {
                let x = get(values, *input)?;
                let (h, w, c) = image_dims(x)?;
                if c != *ic {
                    return Err(ModelError::Malformed("conv input channels"));
                }
                let (oh, ow, top, left) = window.output(h, w)?;
                let mut out = vec![0.0; oh * ow * oc];
                let shape = Shapes {
                    input: (h, w, *ic),
                    output: (oh, ow, *oc),
                    pad: (top, left),
                };
                convolve(&x.data, weights, bias, window, shape, &mut out);
                activation.apply(&mut out);
                Ok(Tensor {
                    shape: vec![1, oh, ow, *oc],
                    data: out,
                })
            }
            Step::Depthwise {
                input,
                weights,
                bias,
                multiplier,
                window,
                activation,
            } => {
                let x = get(values, *input)?;
                let (h, w, ic) = image_dims(x)?;
                let oc = bias.len();
                if ic * multiplier != oc {
                    return Err(ModelError::Malformed("depthwise channels"));
                }
                let (oh, ow, top, left) = window.output(h, w)?;
                let mut out = vec![0.0; oh * ow * oc];
                let shape = Shapes {
                    input: (h, w, ic),
                    output: (oh, ow, oc),
                    pad: (top, left),
                };
                depthwise(&x.data, weights, bias, *multiplier, window, shape, &mut out);
                activation.apply(&mut out);
                Ok(Tensor {
                    shape: vec![1, oh, ow, oc],
                    data: out,
                })
            }
            Step::Add { a, b, activation } => {
                // The larger operand (or either) becomes the sum: in place when this step
                // reads it last (a residual connection's two branches), else as a copy.
                let (len_a, len_b) = (
                    operand(values, a)?.data.len(),
                    operand(values, b)?.data.len(),
                );
                let (big, other) = if len_a >= len_b { (a, b) } else { (b, a) };
                let twice =
                    matches!((big, other), (Operand::Tensor(x), Operand::Tensor(y)) if x == y);
                let mut sum = match big {
                    Operand::Tensor(t) if !twice => owned(values, *t, frees)?,
                    Operand::Tensor(t) => get(values, *t)?.clone(),
                    Operand::Constant(c) => c.clone(),
                };
                let other = operand(values, other)?;
                if sum.shape == other.shape {
                    for (x, y) in sum.data.iter_mut().zip(&other.data) {
                        *x += y;
                    }
                } else if other.data.len() == 1 {
                    let y = other.data[0];
                    sum.data.iter_mut().for_each(|x| *x += y);
                } else {
                    return Err(ModelError::Unsupported("broadcasting add".into()));
                }
                activation.apply(&mut sum.data);
                Ok(sum)
            }
            Step::MaxPool {
                input,
                window,
                activation,
            } => {
                let x = get(values, *input)?;
                let (h, w, c) = image_dims(x)?;
                let (oh, ow, top, left) = window.output(h, w)?;
                let mut out = vec![f32::NEG_INFINITY; oh * ow * c];
                for oy in 0..oh {
                    for ox in 0..ow {
                        let acc = &mut out[(oy * ow + ox) * c..][..c];
                        for ky in 0..window.kernel.0 {
                            let iy = (oy * window.stride.0 + ky).checked_sub(top);
                            for kx in 0..window.kernel.1 {
                                let ix = (ox * window.stride.1 + kx).checked_sub(left);
                                if let (Some(iy), Some(ix)) = (iy, ix) {
                                    if iy < h && ix < w {
                                        let pixel = &x.data[(iy * w + ix) * c..][..c];
                                        for (a, &v) in acc.iter_mut().zip(pixel) {
                                            *a = a.max(v);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                activation.apply(&mut out);
                Ok(Tensor {
                    shape: vec![1, oh, ow, c],
                    data: out,
                })
            }
            Step::Pad { input, pads } => {
                let x = get(values, *input)?;
                if pads.len() != x.shape.len() {
                    return Err(ModelError::Malformed("padding of the wrong rank"));
                }
                let shape: Vec<usize> = x
                    .shape
                    .iter()
                    .zip(pads)
                    .map(|(d, (a, b))| d + a + b)
                    .collect();
                let mut out = vec![0.0; shape.iter().product()];
                // Copy the input's innermost rows into place, one row per index of the other axes.
                let rank = shape.len();
                let Some(&row) = x.shape.last() else {
                    return Err(ModelError::Malformed("padding a scalar"));
                };
                let rows = x.data.len().checked_div(row).unwrap_or(0);
                for r in 0..rows {
                    let mut rest = r;
                    let mut stride = 1;
                    let mut at = pads[rank - 1].0;
                    for axis in (0..rank - 1).rev() {
                        let i = rest % x.shape[axis];
                        rest /= x.shape[axis];
                        stride *= shape[axis + 1];
                        at += (i + pads[axis].0) * stride;
                    }
                    out[at..at + row].copy_from_slice(&x.data[r * row..][..row]);
                }
                Ok(Tensor { shape, data: out })
            }
            Step::Reshape { input, shape } => {
                if get(values, *input)?.data.len() != shape.iter().product::<usize>() {
                    return Err(ModelError::Malformed("reshape to a different size"));
                }
                let mut x = owned(values, *input, frees)?;
                x.shape.clone_from(shape);
                Ok(x)
            }
            Step::Concat {
                inputs,
                axis,
                activation,
            } => {
                let parts = inputs
                    .iter()
                    .map(|o| operand(values, o))
                    .collect::<Result<Vec<_>>>()?;
                let first = parts.first().ok_or(ModelError::Malformed("empty concat"))?;
                let outer: usize = first.shape[..*axis].iter().product();
                let mut shape = first.shape.clone();
                shape[*axis] = 0;
                for p in &parts {
                    let same_rest = p.shape.len() == first.shape.len()
                        && p.shape[..*axis] == first.shape[..*axis]
                        && p.shape[axis + 1..] == first.shape[axis + 1..];
                    if !same_rest {
                        return Err(ModelError::Malformed("concat of mismatched shapes"));
                    }
                    shape[*axis] += p.shape[*axis];
                }
                let mut data = Vec::with_capacity(shape.iter().product());
                for o in 0..outer {
                    for p in &parts {
                        let chunk = p.data.len() / outer.max(1);
                        data.extend_from_slice(&p.data[o * chunk..][..chunk]);
                    }
                }
                activation.apply(&mut data);
                Ok(Tensor { shape, data })
            }
            Step::Relu { input } => {
                let mut x = owned(values, *input, frees)?;
                Activation::Relu.apply(&mut x.data);
                Ok(x)
            }
            Step::Prelu { input, alpha } => {
                let c = alpha.len();
                if c == 0 || get(values, *input)?.data.len() % c != 0 {
                    return Err(ModelError::Malformed("prelu alpha"));
                }
                let mut x = owned(values, *input, frees)?;
                prelu(&mut x.data, alpha);
                Ok(x)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats_convert_exactly() {
        // More than one vector's worth, so that both the vector path and the tail are used.
        let halves: [u16; 9] = [
            0x3c00, 0xc000, 0x3555, 0x0001, 0x8001, 0x0000, 0x7c00, 0x7bff, 0xfc00,
        ];
        let bytes: Vec<u8> = halves.iter().flat_map(|h| h.to_le_bytes()).collect();
        assert_eq!(
            f16s_to_f32(&bytes),
            [
                1.0,
                -2.0,
                0.333_251_95,
                2f32.powi(-24),
                -(2f32.powi(-24)),
                0.0,
                f32::INFINITY,
                65504.0,
                f32::NEG_INFINITY
            ]
        );
    }

    #[test]
    fn half_floats_convert_across_blocks_from_unaligned_bytes() {
        // 2 500 halves (three blocks, the last partial), one byte into the buffer.
        let halves: Vec<u16> = (0..2500u16).map(|i| i.wrapping_mul(40_503)).collect();
        let mut bytes = vec![0xAB];
        bytes.extend(halves.iter().flat_map(|h| h.to_le_bytes()));
        let floats = f16s_to_f32(&bytes[1..]);
        let expected: Vec<f32> = halves
            .iter()
            .map(|&h| half::f16::from_bits(h).to_f32())
            .collect();
        assert_eq!(floats.len(), 2500);
        // Bit for bit (NaNs too).
        assert!(floats
            .iter()
            .zip(&expected)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn same_padding_matches_tflite() {
        // 128 wide, 5×5 kernel, stride 2: 64 out, 3 padding in total, 1 before.
        assert_eq!(Window::along(128, 5, 2, true).unwrap(), (64, 1));
        assert_eq!(Window::along(64, 3, 1, true).unwrap(), (64, 1));
        assert_eq!(Window::along(16, 2, 2, true).unwrap(), (8, 0));
        assert_eq!(Window::along(7, 3, 2, false).unwrap(), (3, 0));
        assert!(Window::along(2, 3, 1, false).is_err());
    }

    fn image(h: usize, w: usize, c: usize, data: Vec<f32>) -> Tensor {
        Tensor {
            shape: vec![1, h, w, c],
            data,
        }
    }

    #[test]
    fn a_convolution_sums_its_window_with_bias_and_relu() {
        // 3×3 input of one channel, 3×3 kernel of ones for out channel 0 and of minus ones for
        // channel 1, SAME padding: the centre sees all nine values.
        let x = image(3, 3, 1, (1..=9).map(|v| v as f32).collect());
        // Weights as the file holds them: [out][kh·kw][in].
        let file: Vec<f32> = [1.0; 9].into_iter().chain([-1.0; 9]).collect();
        let (weights, bias) = padded(&file, (2, 9, 1), vec![0.5, 0.5]);
        let step = Step::Conv {
            input: 0,
            weights,
            bias,
            channels: (1, 2),
            window: Window {
                kernel: (3, 3),
                stride: (1, 1),
                same: true,
            },
            activation: Activation::Relu,
        };
        let out = step.run(&mut [Some(x)], &[]).unwrap();
        assert_eq!(out.shape, vec![1, 3, 3, 2]);
        // Centre: 45 + 0.5; corner (0,0): 1+2+4+5 = 12 + 0.5; the negative channel is cut to 0.
        assert_eq!(out.data[(4) * 2], 45.5);
        assert_eq!(out.data[0], 12.5);
        assert!(out.data.iter().skip(1).step_by(2).all(|&v| v == 0.0));
    }

    /// Values in [-1, 1] from a xorshift generator: `n` at a time.
    fn random_values(mut seed: u64) -> impl FnMut(usize) -> Vec<f32> {
        move |n| {
            (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % 2001) as f32 / 1000.0 - 1.0
                })
                .collect()
        }
    }

    /// A `k`×`k` window with the stride and padding given, over an input of (h, w, channels).
    fn square_window(
        input: (usize, usize, usize),
        out_channels: usize,
        k: usize,
        stride: usize,
        same: bool,
    ) -> (Window, Shapes) {
        let window = Window {
            kernel: (k, k),
            stride: (stride, stride),
            same,
        };
        let (oh, ow, top, left) = window.output(input.0, input.1).unwrap();
        let shape = Shapes {
            input,
            output: (oh, ow, out_channels),
            pad: (top, left),
        };
        (window, shape)
    }

    /// Each output of a convolution, summed one tap and one channel at a time from the bias,
    /// as TFLite's reference does: a full one (weights [out][kh][kw][in]) when `multiplier`
    /// is 0, else a depthwise one (weights [kh][kw][out], out = in × multiplier).
    fn naive_convolution(
        x: &[f32],
        w: &[f32],
        bias: &[f32],
        window: &Window,
        shape: Shapes,
        multiplier: usize,
    ) -> Vec<f32> {
        let ((kh, kw), (_, _, ic), (oh, ow, oc)) = (window.kernel, shape.input, shape.output);
        let mut out = Vec::new();
        for oy in 0..oh {
            for ox in 0..ow {
                for o in 0..oc {
                    let mut sum = bias[o];
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let Some(i) = shape.tap(window, (oy, ox), (ky, kx)) else {
                                continue;
                            };
                            match o.checked_div(multiplier) {
                                None => {
                                    for c in 0..ic {
                                        sum +=
                                            x[i * ic + c] * w[((o * kh + ky) * kw + kx) * ic + c];
                                    }
                                }
                                Some(c) => sum += x[i * ic + c] * w[(ky * kw + kx) * oc + o],
                            }
                        }
                    }
                    out.push(sum);
                }
            }
        }
        out
    }

    fn same_bits(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    #[test]
    fn a_convolution_in_blocks_makes_each_sum_exactly_as_one_at_a_time() {
        let mut random = random_values(0x2545_F491_4F6C_DD1D);
        // Kernels of 1, 3 and 5, strides 1 and 2, SAME and VALID, rows of widths that are
        // and are not whole blocks, channels over and under a lane.
        for (h, w, ic, oc, k, stride, same) in [
            (9, 13, 3, 24, 5, 2, true),
            (8, 8, 8, 16, 1, 1, true),
            (7, 11, 5, 17, 3, 1, true),
            (10, 9, 16, 40, 3, 2, true),
            (6, 14, 4, 8, 3, 1, false),
            (5, 5, 2, 3, 5, 1, true),
            (12, 12, 1, 16, 2, 2, false),
        ] {
            let (window, shape) = square_window((h, w, ic), oc, k, stride, same);
            let (oh, ow) = (shape.output.0, shape.output.1);
            let (x, weights, bias) = (random(h * w * ic), random(oc * k * k * ic), random(oc));
            let want = naive_convolution(&x, &weights, &bias, &window, shape, 0);
            let (padded_weights, padded_bias) = padded(&weights, (oc, k * k, ic), bias);
            let mut got = vec![0.0; oh * ow * oc];
            convolve(&x, &padded_weights, &padded_bias, &window, shape, &mut got);
            assert!(
                same_bits(&got, &want),
                "{h}×{w}×{ic} → {oc}, kernel {k}, stride {stride}"
            );
        }
    }

    #[test]
    fn a_depthwise_convolution_makes_each_sum_exactly_as_the_reference_does() {
        let mut random = random_values(0x9E37_79B9_7F4A_7C15);
        for (h, w, ic, multiplier, k, stride, same) in [
            (9, 13, 24, 1, 5, 2, true),
            (8, 8, 16, 1, 3, 1, true),
            (7, 11, 40, 1, 3, 1, false),
            (10, 9, 7, 1, 3, 2, true),
            (6, 10, 3, 2, 3, 1, true),
        ] {
            let oc = ic * multiplier;
            let (window, shape) = square_window((h, w, ic), oc, k, stride, same);
            let (oh, ow) = (shape.output.0, shape.output.1);
            let (x, weights, bias) = (random(h * w * ic), random(k * k * oc), random(oc));
            let want = naive_convolution(&x, &weights, &bias, &window, shape, multiplier);
            let mut got = vec![0.0; oh * ow * oc];
            depthwise(&x, &weights, &bias, multiplier, &window, shape, &mut got);
            assert!(
                same_bits(&got, &want),
                "{h}×{w}×{ic} ×{multiplier}, kernel {k}, stride {stride}"
            );
        }
    }

    #[test]
    fn depthwise_pool_pad_and_concat_keep_channels_apart() {
        // Two channels: the second is ten times the first.
        let x = image(2, 2, 2, vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0]);
        let depthwise = Step::Depthwise {
            input: 0,
            weights: vec![1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0],
            bias: vec![0.0, 0.0],
            multiplier: 1,
            window: Window {
                kernel: (2, 2),
                stride: (2, 2),
                same: false,
            },
            activation: Activation::None,
        };
        let d = depthwise.run(&mut [Some(x.clone())], &[]).unwrap();
        assert_eq!(d, image(1, 1, 2, vec![10.0, -100.0]));

        let pool = Step::MaxPool {
            input: 0,
            window: Window {
                kernel: (2, 2),
                stride: (2, 2),
                same: false,
            },
            activation: Activation::None,
        };
        assert_eq!(
            pool.run(&mut [Some(x.clone())], &[]).unwrap(),
            image(1, 1, 2, vec![4.0, 40.0])
        );

        // Channel padding, as BlazeFace's residual blocks use it: 2 channels become 4.
        let pad = Step::Pad {
            input: 0,
            pads: vec![(0, 0), (0, 0), (0, 0), (1, 1)],
        };
        let p = pad.run(&mut [Some(x.clone())], &[]).unwrap();
        assert_eq!(p.shape, vec![1, 2, 2, 4]);
        assert_eq!(&p.data[..8], &[0.0, 1.0, 10.0, 0.0, 0.0, 2.0, 20.0, 0.0]);

        let concat = Step::Concat {
            inputs: vec![Operand::Tensor(0), Operand::Tensor(0)],
            axis: 1,
            activation: Activation::None,
        };
        let c = concat.run(&mut [Some(x)], &[]).unwrap();
        assert_eq!(c.shape, vec![1, 4, 2, 2]);
        assert_eq!(c.data[8..12], [1.0, 10.0, 2.0, 20.0]);
    }

    #[test]
    fn elementwise_steps_work_in_place_only_on_a_tensor_they_read_last() {
        let x = image(1, 2, 2, vec![-1.0, 2.0, -3.0, 4.0]);
        let y = image(1, 2, 2, vec![10.0, 20.0, 30.0, 40.0]);
        let steps = [
            (
                Step::Relu { input: 0 },
                image(1, 2, 2, vec![0.0, 2.0, 0.0, 4.0]),
            ),
            (
                Step::Prelu {
                    input: 0,
                    alpha: vec![0.5, 0.25],
                },
                image(1, 2, 2, vec![-0.5, 2.0, -1.5, 4.0]),
            ),
            (
                Step::Reshape {
                    input: 0,
                    shape: vec![1, 4],
                },
                Tensor {
                    shape: vec![1, 4],
                    data: vec![-1.0, 2.0, -3.0, 4.0],
                },
            ),
            (
                Step::Add {
                    a: Operand::Tensor(0),
                    b: Operand::Tensor(1),
                    activation: Activation::None,
                },
                image(1, 2, 2, vec![9.0, 22.0, 27.0, 44.0]),
            ),
            // The same tensor on both sides, read last: added to itself, not taken away
            // half-way.
            (
                Step::Add {
                    a: Operand::Tensor(0),
                    b: Operand::Tensor(0),
                    activation: Activation::Relu,
                },
                image(1, 2, 2, vec![0.0, 4.0, 0.0, 8.0]),
            ),
        ];
        for (step, want) in steps {
            // Read later by another step: the inputs stay as they were.
            let mut values = [Some(x.clone()), Some(y.clone())];
            assert_eq!(step.run(&mut values, &[]).unwrap(), want, "{step:?}");
            assert_eq!(values, [Some(x.clone()), Some(y.clone())], "{step:?}");
            // Read last here: the same answer, made from the input itself (but for a tensor
            // added to itself, which both sides need).
            let mut values = [Some(x.clone()), Some(y.clone())];
            assert_eq!(step.run(&mut values, &[0, 1]).unwrap(), want, "{step:?}");
            let itself = matches!(
                step,
                Step::Add {
                    b: Operand::Tensor(0),
                    ..
                }
            );
            assert_eq!(values[0].is_none(), !itself, "{step:?}");
        }
        // A scalar added to a tensor: the tensor becomes the sum, whichever side it is on.
        let one = Operand::Constant(Tensor {
            shape: vec![1],
            data: vec![0.5],
        });
        let add = Step::Add {
            a: one,
            b: Operand::Tensor(0),
            activation: Activation::None,
        };
        let mut values = [Some(x.clone())];
        assert_eq!(
            add.run(&mut values, &[0]).unwrap(),
            image(1, 2, 2, vec![-0.5, 2.5, -2.5, 4.5])
        );
    }

    #[test]
    fn malformed_files_are_refused_without_panicking() {
        let model = include_bytes!("../../../assets/models/face_detection_short_range.tflite");
        for cut in [0, 3, 8, 100, 4_000, model.len() / 2, model.len() - 1] {
            assert!(Model::load(&model[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = model.to_vec();
        for i in (0..flipped.len()).step_by(97) {
            flipped[i] ^= 0x5a;
            let _ = Model::load(&flipped);
        }
        let loaded = Model::load(model).unwrap();
        assert_eq!(
            loaded.run(vec![0.0; 10]).unwrap_err(),
            ModelError::InputSize {
                got: 10,
                want: 128 * 128 * 3
            }
        );
    }

    #[test]
    fn each_compiled_in_model_has_the_hash_a_file_read_instead_must_have() {
        for model in MODELS {
            assert_eq!(sha256_hex(model.bytes), model.sha256, "{}", model.name);
        }
    }

    #[test]
    fn a_shared_model_is_loaded_once_while_held_and_freed_after() {
        static SHARED: SharedModel = compiled_model!(
            "face_detection_short_range.tflite",
            "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"
        );
        let first = SHARED.get().unwrap();
        let second = SHARED.get().unwrap();
        assert!(Arc::ptr_eq(&first, &second), "one copy while held");
        let weak = Arc::downgrade(&first);
        drop((first, second));
        assert!(weak.upgrade().is_none(), "freed when the last holder goes");
        let again = SHARED.get().unwrap();
        assert_eq!(again.input_shape(), [1, 128, 128, 3]);

        static BROKEN: SharedModel = SharedModel::new("broken", b"not a model", "");
        assert!(BROKEN.get().is_err());
    }
}
