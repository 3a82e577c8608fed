/* Test helper (discovery.sh): a C extension module (condapkg._ext) of the conda-style
 * environment. It calls dep_value() from libcondadep.so, which lives in ENV/lib and is
 * found through the extension's RUNPATH $ORIGIN/../../.. (as conda builds them). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

int dep_value(void);

static PyObject *value(PyObject *self, PyObject *noargs)
{
	(void)self;
	(void)noargs;
	return PyLong_FromLong(dep_value());
}

static PyMethodDef methods[] = {
	{ "value", value, METH_NOARGS, "dep_value() of libcondadep.so" },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef def = { PyModuleDef_HEAD_INIT, "_ext", NULL, -1, methods, NULL, NULL, NULL, NULL };

PyMODINIT_FUNC PyInit__ext(void)
{
	return PyModule_Create(&def);
}
