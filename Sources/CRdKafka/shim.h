#ifndef CONSENT_GATE_CRDKAFKA_SHIM_H
#define CONSENT_GATE_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
